-- AlterTable
ALTER TABLE "Store" ADD COLUMN     "yearsPlan" JSONB;
