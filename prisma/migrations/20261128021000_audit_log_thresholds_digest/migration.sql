-- AlterTable
ALTER TABLE "Store" ADD COLUMN     "digestHour" INTEGER NOT NULL DEFAULT 8,
ADD COLUMN     "paused" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "reclaimAfterDays" INTEGER NOT NULL DEFAULT 30;

-- CreateTable
CREATE TABLE "AuditLog" (
    "id" BIGSERIAL NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "actorKind" TEXT NOT NULL,
    "actorId" TEXT,
    "action" TEXT NOT NULL,
    "entity" TEXT NOT NULL,
    "entityId" TEXT NOT NULL,
    "storeId" TEXT,
    "before" JSONB,
    "after" JSONB,
    "reason" TEXT,

    CONSTRAINT "AuditLog_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "KpiThreshold" (
    "storeId" TEXT NOT NULL,
    "kpi" TEXT NOT NULL,
    "minimum" DOUBLE PRECISION NOT NULL,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "KpiThreshold_pkey" PRIMARY KEY ("storeId","kpi")
);

-- CreateTable
CREATE TABLE "ThresholdAlert" (
    "storeId" TEXT NOT NULL,
    "kpi" TEXT NOT NULL,
    "period" TEXT NOT NULL,
    "value" DOUBLE PRECISION NOT NULL,
    "minimum" DOUBLE PRECISION NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ThresholdAlert_pkey" PRIMARY KEY ("storeId","kpi","period")
);

-- CreateIndex
CREATE INDEX "AuditLog_storeId_id_idx" ON "AuditLog"("storeId", "id");

-- CreateIndex
CREATE INDEX "AuditLog_entity_entityId_id_idx" ON "AuditLog"("entity", "entityId", "id");

-- CreateIndex
CREATE INDEX "AuditLog_actorId_id_idx" ON "AuditLog"("actorId", "id");

-- AddForeignKey
ALTER TABLE "KpiThreshold" ADD CONSTRAINT "KpiThreshold_storeId_fkey" FOREIGN KEY ("storeId") REFERENCES "Store"("id") ON DELETE RESTRICT ON UPDATE CASCADE;


-- The audit log is append-only. A trigger refuses changes whoever asks (it holds even when the
-- application's role owns the table, as it does when that role runs the migrations); the REVOKE
-- also takes the privileges away from the owner and from everyone else.
CREATE FUNCTION "audit_log_append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the audit log is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER "AuditLog_no_update_delete" BEFORE UPDATE OR DELETE ON "AuditLog"
  FOR EACH ROW EXECUTE FUNCTION "audit_log_append_only"();
CREATE TRIGGER "AuditLog_no_truncate" BEFORE TRUNCATE ON "AuditLog"
  FOR EACH STATEMENT EXECUTE FUNCTION "audit_log_append_only"();

REVOKE UPDATE, DELETE, TRUNCATE ON "AuditLog" FROM PUBLIC, CURRENT_USER;
