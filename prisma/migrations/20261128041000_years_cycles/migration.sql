-- CreateTable
CREATE TABLE "YearsCycle" (
    "storeId" TEXT NOT NULL,
    "deliveryId" UUID NOT NULL,
    "key" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "dueOn" DATE NOT NULL,
    "remindedAt" TIMESTAMPTZ(3),
    "bookedAt" TIMESTAMPTZ(3),
    "doneAt" TIMESTAMPTZ(3),
    "lapsedAt" TIMESTAMPTZ(3),
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "YearsCycle_pkey" PRIMARY KEY ("deliveryId","key")
);

-- CreateIndex
CREATE INDEX "YearsCycle_storeId_kind_dueOn_idx" ON "YearsCycle"("storeId", "kind", "dueOn");

-- AddForeignKey
ALTER TABLE "YearsCycle" ADD CONSTRAINT "YearsCycle_deliveryId_fkey" FOREIGN KEY ("deliveryId") REFERENCES "Delivery"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
