-- AlterTable
ALTER TABLE "ReplacementCandidate" ADD COLUMN     "caseId" UUID;

