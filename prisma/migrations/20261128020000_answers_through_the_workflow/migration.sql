-- AlterTable
ALTER TABLE "Delivery" ADD COLUMN     "endedReason" TEXT;

-- CreateIndex
CREATE UNIQUE INDEX "EscalationCase_inboundMessageId_reason_key" ON "EscalationCase"("inboundMessageId", "reason");
