-- The inbox (GET /v1/tasks) shows each task's customer and vehicle: with their IDs on the follow-up it
-- joins them directly instead of through the delivery (a page of 51 tasks: ~200 of ~690 buffers, and
-- ~0.25 ms of PostgreSQL's CPU). The triggers are the copies' one writer: on a new follow-up (whatever
-- a writer passes), and on its delivery's change of customer or vehicle (which nothing does today).

ALTER TABLE "FollowUp" ADD COLUMN "customerId" UUID, ADD COLUMN "vehicleId" UUID;

UPDATE "FollowUp" f SET "customerId" = d."customerId", "vehicleId" = d."vehicleId" FROM "Delivery" d WHERE d.id = f."deliveryId";

CREATE FUNCTION follow_up_parties() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  SELECT d."customerId", d."vehicleId" INTO NEW."customerId", NEW."vehicleId" FROM "Delivery" d WHERE d.id = NEW."deliveryId";
  RETURN NEW;
END $$;

CREATE TRIGGER follow_up_parties BEFORE INSERT OR UPDATE OF "deliveryId", "customerId", "vehicleId" ON "FollowUp"
  FOR EACH ROW EXECUTE FUNCTION follow_up_parties();

CREATE FUNCTION delivery_parties_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE "FollowUp" SET "customerId" = NEW."customerId", "vehicleId" = NEW."vehicleId" WHERE "deliveryId" = NEW.id;
  RETURN NULL;
END $$;

CREATE TRIGGER delivery_parties_changed AFTER UPDATE OF "customerId", "vehicleId" ON "Delivery"
  FOR EACH ROW WHEN (OLD."customerId" IS DISTINCT FROM NEW."customerId" OR OLD."vehicleId" IS DISTINCT FROM NEW."vehicleId")
  EXECUTE FUNCTION delivery_parties_changed();
