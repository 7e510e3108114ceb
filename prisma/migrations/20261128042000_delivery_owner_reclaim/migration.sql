-- AlterTable
ALTER TABLE "Delivery" ADD COLUMN     "ownerId" UUID,
ADD COLUMN     "reclaimedAt" TIMESTAMPTZ(3);
