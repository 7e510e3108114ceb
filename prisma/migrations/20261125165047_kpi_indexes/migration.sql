-- DropIndex
DROP INDEX "FollowUp_storeId_dueEnd_idx";

-- CreateIndex
CREATE INDEX "FollowUp_storeId_dueEnd_kind_status_assigneeId_satisfied_cs_idx" ON "FollowUp"("storeId", "dueEnd", "kind", "status", "assigneeId", "satisfied", "csat", "nps");

-- CreateIndex
CREATE INDEX "FollowUp_deliveryId_kind_status_survey_satisfied_promisesKe_idx" ON "FollowUp"("deliveryId", "kind", "status", "survey", "satisfied", "promisesKept");

