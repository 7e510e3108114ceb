-- AlterTable
ALTER TABLE "EscalationCase" ADD COLUMN     "acknowledgedAt" TIMESTAMPTZ(3),
ADD COLUMN     "closedAt" TIMESTAMPTZ(3),
ADD COLUMN     "confirmedAt" TIMESTAMPTZ(3),
ADD COLUMN     "confirmedVia" TEXT,
ADD COLUMN     "dueAt" TIMESTAMPTZ(3),
ADD COLUMN     "level" INTEGER NOT NULL DEFAULT 1,
ADD COLUMN     "openedBy" TEXT NOT NULL DEFAULT 'system',
ADD COLUMN     "resolution" TEXT,
ADD COLUMN     "resolveBy" TIMESTAMPTZ(3),
ADD COLUMN     "respondBy" TIMESTAMPTZ(3),
ADD COLUMN     "rootCause" TEXT,
ADD COLUMN     "updatedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP;

-- CreateTable
CREATE TABLE "CaseEvent" (
    "id" UUID NOT NULL,
    "caseId" UUID NOT NULL,
    "eventKey" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "actor" TEXT NOT NULL,
    "fromAssigneeId" UUID,
    "toAssigneeId" UUID,
    "level" INTEGER,
    "detail" TEXT,
    "at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "CaseEvent_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "StaffNotification" (
    "id" UUID NOT NULL,
    "idempotencyKey" TEXT NOT NULL,
    "staffId" UUID NOT NULL,
    "caseId" UUID,
    "channel" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'sending',
    "providerId" TEXT,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "sentAt" TIMESTAMPTZ(3),

    CONSTRAINT "StaffNotification_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "CasePolicy" (
    "storeId" TEXT NOT NULL,
    "openingHours" JSONB NOT NULL,
    "firstResponseMinutes" INTEGER NOT NULL DEFAULT 240,
    "resolutionMinutes" INTEGER NOT NULL DEFAULT 1440,
    "smsFromLevel" INTEGER DEFAULT 3,
    "updatedBy" TEXT NOT NULL,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "CasePolicy_pkey" PRIMARY KEY ("storeId")
);

-- CreateTable
CREATE TABLE "StoreCalendar" (
    "storeId" TEXT NOT NULL,
    "year" INTEGER NOT NULL,
    "holidays" JSONB NOT NULL,
    "workdays" JSONB NOT NULL,
    "updatedBy" TEXT NOT NULL,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "StoreCalendar_pkey" PRIMARY KEY ("storeId","year")
);

-- CreateIndex
CREATE UNIQUE INDEX "CaseEvent_eventKey_key" ON "CaseEvent"("eventKey");

-- CreateIndex
CREATE INDEX "CaseEvent_caseId_at_idx" ON "CaseEvent"("caseId", "at");

-- CreateIndex
CREATE UNIQUE INDEX "StaffNotification_idempotencyKey_key" ON "StaffNotification"("idempotencyKey");

-- CreateIndex
CREATE INDEX "EscalationCase_assigneeId_status_dueAt_id_idx" ON "EscalationCase"("assigneeId", "status", "dueAt", "id");

-- CreateIndex
CREATE INDEX "EscalationCase_storeId_status_dueAt_id_idx" ON "EscalationCase"("storeId", "status", "dueAt", "id");

-- AddForeignKey
ALTER TABLE "CaseEvent" ADD CONSTRAINT "CaseEvent_caseId_fkey" FOREIGN KEY ("caseId") REFERENCES "EscalationCase"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

