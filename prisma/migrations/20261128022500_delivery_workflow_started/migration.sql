-- AlterTable
ALTER TABLE "Delivery" ADD COLUMN     "workflowStartedAt" TIMESTAMPTZ(3);

-- Deliveries recorded before this column had their workflow started right after the commit.
UPDATE "Delivery" SET "workflowStartedAt" = "createdAt";

-- CreateIndex
CREATE INDEX "Delivery_workflowStartedAt_idx" ON "Delivery"("workflowStartedAt");
