-- AlterTable
ALTER TABLE "Staff" ADD COLUMN     "supervisorId" UUID;

-- AlterTable
ALTER TABLE "FollowUp" ADD COLUMN     "answerChannel" TEXT,
ADD COLUMN     "recordedLate" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "requestedAt" TIMESTAMPTZ(3);

-- AddForeignKey
ALTER TABLE "Staff" ADD CONSTRAINT "Staff_supervisorId_fkey" FOREIGN KEY ("supervisorId") REFERENCES "Staff"("id") ON DELETE SET NULL ON UPDATE CASCADE;

