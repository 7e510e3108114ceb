-- AlterTable
ALTER TABLE "Message" ADD COLUMN     "inFlightUntil" TIMESTAMPTZ(3);

-- CreateTable
CREATE TABLE "PendingReceipt" (
    "providerId" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "errorCode" TEXT,
    "receivedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "PendingReceipt_pkey" PRIMARY KEY ("providerId","status")
);

-- CreateIndex
CREATE INDEX "PendingReceipt_receivedAt_idx" ON "PendingReceipt"("receivedAt");

