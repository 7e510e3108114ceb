-- AlterTable
ALTER TABLE "Message" ADD COLUMN     "deferredUntil" TIMESTAMPTZ(3);

-- AlterTable
ALTER TABLE "EscalationCase" ADD COLUMN     "inboundMessageId" UUID,
ADD COLUMN     "messageId" UUID;

-- CreateTable
CREATE TABLE "InboundMessage" (
    "id" UUID NOT NULL,
    "storeId" TEXT,
    "customerId" UUID,
    "channel" TEXT NOT NULL,
    "providerId" TEXT NOT NULL,
    "fromAddress" TEXT NOT NULL,
    "toAddress" TEXT NOT NULL,
    "body" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "followUpId" UUID,
    "receivedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "InboundMessage_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "InboundMessage_storeId_receivedAt_idx" ON "InboundMessage"("storeId", "receivedAt");

-- CreateIndex
CREATE INDEX "InboundMessage_customerId_receivedAt_idx" ON "InboundMessage"("customerId", "receivedAt");

-- CreateIndex
CREATE UNIQUE INDEX "InboundMessage_providerId_customerId_key" ON "InboundMessage"("providerId", "customerId");

-- CreateIndex
CREATE INDEX "Customer_phone_idx" ON "Customer"("phone");

-- CreateIndex
CREATE INDEX "EscalationCase_deliveryId_reason_status_idx" ON "EscalationCase"("deliveryId", "reason", "status");

-- CreateIndex
CREATE UNIQUE INDEX "EscalationCase_messageId_reason_key" ON "EscalationCase"("messageId", "reason");

-- AddForeignKey
ALTER TABLE "InboundMessage" ADD CONSTRAINT "InboundMessage_storeId_fkey" FOREIGN KEY ("storeId") REFERENCES "Store"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "InboundMessage" ADD CONSTRAINT "InboundMessage_customerId_fkey" FOREIGN KEY ("customerId") REFERENCES "Customer"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "EscalationCase" ADD CONSTRAINT "EscalationCase_messageId_fkey" FOREIGN KEY ("messageId") REFERENCES "Message"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "EscalationCase" ADD CONSTRAINT "EscalationCase_inboundMessageId_fkey" FOREIGN KEY ("inboundMessageId") REFERENCES "InboundMessage"("id") ON DELETE SET NULL ON UPDATE CASCADE;

