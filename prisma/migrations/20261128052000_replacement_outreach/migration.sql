-- AlterTable
ALTER TABLE "Store" ADD COLUMN     "replacementCriteria" JSONB;

-- AlterTable
ALTER TABLE "FollowUp" ADD COLUMN     "showroomVisit" TEXT;

-- CreateTable
CREATE TABLE "ReplacementCandidate" (
    "id" UUID NOT NULL,
    "storeId" TEXT NOT NULL,
    "deliveryId" UUID NOT NULL,
    "cycle" TEXT NOT NULL,
    "screenedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "facts" JSONB NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "decidedById" UUID,
    "decidedAt" TIMESTAMPTZ(3),
    "note" TEXT,
    "followUpId" UUID,

    CONSTRAINT "ReplacementCandidate_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "ReplacementCandidate_storeId_status_screenedAt_idx" ON "ReplacementCandidate"("storeId", "status", "screenedAt");

-- CreateIndex
CREATE UNIQUE INDEX "ReplacementCandidate_deliveryId_cycle_key" ON "ReplacementCandidate"("deliveryId", "cycle");

-- AddForeignKey
ALTER TABLE "ReplacementCandidate" ADD CONSTRAINT "ReplacementCandidate_deliveryId_fkey" FOREIGN KEY ("deliveryId") REFERENCES "Delivery"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

