-- CreateIndex
CREATE INDEX "Delivery_deliveredAt_id_idx" ON "Delivery"("deliveredAt", "id");

-- CreateIndex
CREATE INDEX "FollowUp_dueEnd_id_idx" ON "FollowUp"("dueEnd", "id");
