-- DropIndex
DROP INDEX "FollowUp_storeId_dueEnd_kind_status_assigneeId_satisfied_cs_idx";

-- CreateIndex
CREATE INDEX "FollowUp_storeId_dueEnd_kind_status_assigneeId_satisfied_cs_idx" ON "FollowUp"("storeId", "dueEnd", "kind", "status", "assigneeId", "satisfied", "csat", "nps", "survey", "recordedLate", "contactDataCorrect");

