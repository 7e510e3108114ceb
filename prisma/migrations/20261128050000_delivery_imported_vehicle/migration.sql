-- AlterTable
ALTER TABLE "Delivery" ADD COLUMN     "importedVehicle" JSONB;
