-- CreateTable
CREATE TABLE "KpiTally" (
    "storeId" TEXT NOT NULL,
    "staffId" UUID NOT NULL,
    "day" DATE NOT NULL,
    "satisfactionD" INTEGER NOT NULL DEFAULT 0,
    "satisfactionN" INTEGER NOT NULL DEFAULT 0,
    "recordingCompletionD" INTEGER NOT NULL DEFAULT 0,
    "recordingCompletionN" INTEGER NOT NULL DEFAULT 0,
    "timelinessD" INTEGER NOT NULL DEFAULT 0,
    "timelinessN" INTEGER NOT NULL DEFAULT 0,
    "recordedLateD" INTEGER NOT NULL DEFAULT 0,
    "recordedLateN" INTEGER NOT NULL DEFAULT 0,
    "dataAccuracyD" INTEGER NOT NULL DEFAULT 0,
    "dataAccuracyN" INTEGER NOT NULL DEFAULT 0,
    "csatD" INTEGER NOT NULL DEFAULT 0,
    "csatN" INTEGER NOT NULL DEFAULT 0,
    "csatSum" INTEGER NOT NULL DEFAULT 0,
    "npsD" INTEGER NOT NULL DEFAULT 0,
    "npsN" INTEGER NOT NULL DEFAULT 0,
    "npsS" INTEGER NOT NULL DEFAULT 0,
    "delivered" INTEGER NOT NULL DEFAULT 0,
    "byAppointment" INTEGER NOT NULL DEFAULT 0,
    "surveySatisfied" INTEGER NOT NULL DEFAULT 0,
    "promisesAnswered" INTEGER NOT NULL DEFAULT 0,
    "promisesAllKept" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "KpiTally_pkey" PRIMARY KEY ("storeId","day","staffId")
);

-- The tallies are kept by statement-level triggers rather than by each writer: follow-ups are
-- written by the workflow's activities, task claim/reassign, staff exit, reclaim, ownership end,
-- imports and bulk loads, and a trigger is the one place no present or future writer can skip. It
-- runs in the writer's transaction, so a tally is never ahead of or behind the rows it counts.
-- Transition tables let one statement touching many rows (a staff exit) apply one grouped
-- upsert, in key order (so two such statements cannot deadlock on tally rows).
-- The counting rules mirror src/domain/kpi.ts (FOLLOW_UP_KPIS, DELIVERY_KPIS);
-- test/integration/kpi-tallies.test.ts rebuilds the tallies from scratch and compares both with
-- the maintained ones and with the KPI queries over the follow-ups.

-- What one follow-up adds (w = 1) or takes away (w = -1): nothing unless it is a counted call
-- (kind 'call', not cancelled). Its day is its required window's end in the store's time zone.
-- Window-dependent counts (timeliness, recordedLate) count it as closed: the reader only reads
-- days that ended before the moment of reading.
CREATE FUNCTION kpi_follow_up_tally(f "FollowUp", w integer) RETURNS SETOF "KpiTally" LANGUAGE sql STABLE AS $$
  SELECT f."storeId", coalesce(f."assigneeId", '00000000-0000-0000-0000-000000000000'::uuid), (f."dueEnd" AT TIME ZONE s."timeZone")::date,
    w * (f.status IN ('done_on_time', 'done_late'))::int,
    w * (f.status IN ('done_on_time', 'done_late') AND f.satisfied IS TRUE)::int,
    w,
    w * (f.status IN ('done_on_time', 'done_late', 'failed'))::int,
    w * (f."recordedLate" IS FALSE)::int,
    w * (f."recordedLate" IS FALSE AND f.status = 'done_on_time')::int,
    w,
    w * (f."recordedLate" IS TRUE)::int,
    w * (f."contactDataCorrect" IS NOT NULL)::int,
    w * (f."contactDataCorrect" IS TRUE)::int,
    w * (f.survey AND f.csat IS NOT NULL)::int,
    w * (f.survey AND f.csat >= 4 IS TRUE)::int,
    w * CASE WHEN f.survey THEN coalesce(f.csat, 0) ELSE 0 END,
    w * (f.survey AND f.nps IS NOT NULL)::int,
    w * (f.survey AND f.nps >= 9 IS TRUE)::int,
    w * (f.survey AND f.nps <= 6 IS TRUE)::int,
    0, 0, 0, 0, 0
  FROM "Store" s
  WHERE s.id = f."storeId" AND f.kind = 'call' AND f.status <> 'cancelled'
$$;

-- What one delivery adds or takes away, given the facts its completed calls show (see
-- DELIVERY_FACTS_JOIN in src/kpi/sql.ts): on its delivery day, under its consultant.
CREATE FUNCTION kpi_delivery_tally(d "Delivery", w integer, survey_satisfied boolean, promises_all_kept boolean) RETURNS SETOF "KpiTally" LANGUAGE sql STABLE AS $$
  SELECT d."storeId", d."consultantId", (d."deliveredAt" AT TIME ZONE s."timeZone")::date,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    w, w * d."byAppointment"::int, w * (survey_satisfied IS TRUE)::int, w * (promises_all_kept IS NOT NULL)::int, w * (promises_all_kept IS TRUE)::int
  FROM "Store" s
  WHERE s.id = d."storeId"
$$;

-- The facts of a delivery from a set of its follow-ups: bool_and skips NULLs (nothing answered: NULL).
CREATE FUNCTION kpi_delivery_facts(fs "FollowUp"[], OUT survey_satisfied boolean, OUT promises_all_kept boolean) LANGUAGE sql IMMUTABLE AS $$
  SELECT bool_and(f.satisfied) FILTER (WHERE f.survey), bool_and(f."promisesKept")
  FROM unnest(fs) f
  WHERE f.kind = 'call' AND f.status IN ('done_on_time', 'done_late')
$$;

-- The tallies from scratch (one store, or all when p_store is NULL): the backfill, a store's new
-- time zone, and the tests' reference.
CREATE FUNCTION kpi_tally_scratch(p_store text) RETURNS SETOF "KpiTally" LANGUAGE sql STABLE AS $$
  SELECT t."storeId", t."staffId", t.day, sum("satisfactionD")::int, sum("satisfactionN")::int, sum("recordingCompletionD")::int, sum("recordingCompletionN")::int, sum("timelinessD")::int, sum("timelinessN")::int, sum("recordedLateD")::int, sum("recordedLateN")::int, sum("dataAccuracyD")::int, sum("dataAccuracyN")::int, sum("csatD")::int, sum("csatN")::int, sum("csatSum")::int, sum("npsD")::int, sum("npsN")::int, sum("npsS")::int, sum("delivered")::int, sum("byAppointment")::int, sum("surveySatisfied")::int, sum("promisesAnswered")::int, sum("promisesAllKept")::int
  FROM (
    SELECT t.* FROM "FollowUp" f CROSS JOIN LATERAL kpi_follow_up_tally(f, 1) t WHERE p_store IS NULL OR f."storeId" = p_store
    UNION ALL
    SELECT t.* FROM "Delivery" d
      CROSS JOIN LATERAL kpi_delivery_facts(ARRAY(SELECT f FROM "FollowUp" f WHERE f."deliveryId" = d.id)) x
      CROSS JOIN LATERAL kpi_delivery_tally(d, 1, x.survey_satisfied, x.promises_all_kept) t
    WHERE p_store IS NULL OR d."storeId" = p_store
  ) t
  GROUP BY 1, 2, 3
$$;

-- Adds a set of signed contributions to the tallies, in key order, skipping keys that net to zero
-- (a change no KPI reads, e.g. a call-back time, writes no tally row).
CREATE FUNCTION kpi_tally_apply(deltas "KpiTally"[]) RETURNS void LANGUAGE sql AS $$
  INSERT INTO "KpiTally"
  SELECT t."storeId", t."staffId", t.day, sum("satisfactionD")::int, sum("satisfactionN")::int, sum("recordingCompletionD")::int, sum("recordingCompletionN")::int, sum("timelinessD")::int, sum("timelinessN")::int, sum("recordedLateD")::int, sum("recordedLateN")::int, sum("dataAccuracyD")::int, sum("dataAccuracyN")::int, sum("csatD")::int, sum("csatN")::int, sum("csatSum")::int, sum("npsD")::int, sum("npsN")::int, sum("npsS")::int, sum("delivered")::int, sum("byAppointment")::int, sum("surveySatisfied")::int, sum("promisesAnswered")::int, sum("promisesAllKept")::int
  FROM unnest(deltas) t
  GROUP BY 1, 2, 3
  HAVING sum("satisfactionD") <> 0 OR sum("satisfactionN") <> 0 OR sum("recordingCompletionD") <> 0 OR sum("recordingCompletionN") <> 0 OR sum("timelinessD") <> 0 OR sum("timelinessN") <> 0 OR sum("recordedLateD") <> 0 OR sum("recordedLateN") <> 0 OR sum("dataAccuracyD") <> 0 OR sum("dataAccuracyN") <> 0 OR sum("csatD") <> 0 OR sum("csatN") <> 0 OR sum("csatSum") <> 0 OR sum("npsD") <> 0 OR sum("npsN") <> 0 OR sum("npsS") <> 0 OR sum("delivered") <> 0 OR sum("byAppointment") <> 0 OR sum("surveySatisfied") <> 0 OR sum("promisesAnswered") <> 0 OR sum("promisesAllKept") <> 0
  ORDER BY 1, 2, 3
  ON CONFLICT ("storeId", day, "staffId") DO UPDATE SET
    "satisfactionD" = "KpiTally"."satisfactionD" + excluded."satisfactionD",
    "satisfactionN" = "KpiTally"."satisfactionN" + excluded."satisfactionN",
    "recordingCompletionD" = "KpiTally"."recordingCompletionD" + excluded."recordingCompletionD",
    "recordingCompletionN" = "KpiTally"."recordingCompletionN" + excluded."recordingCompletionN",
    "timelinessD" = "KpiTally"."timelinessD" + excluded."timelinessD",
    "timelinessN" = "KpiTally"."timelinessN" + excluded."timelinessN",
    "recordedLateD" = "KpiTally"."recordedLateD" + excluded."recordedLateD",
    "recordedLateN" = "KpiTally"."recordedLateN" + excluded."recordedLateN",
    "dataAccuracyD" = "KpiTally"."dataAccuracyD" + excluded."dataAccuracyD",
    "dataAccuracyN" = "KpiTally"."dataAccuracyN" + excluded."dataAccuracyN",
    "csatD" = "KpiTally"."csatD" + excluded."csatD",
    "csatN" = "KpiTally"."csatN" + excluded."csatN",
    "csatSum" = "KpiTally"."csatSum" + excluded."csatSum",
    "npsD" = "KpiTally"."npsD" + excluded."npsD",
    "npsN" = "KpiTally"."npsN" + excluded."npsN",
    "npsS" = "KpiTally"."npsS" + excluded."npsS",
    "delivered" = "KpiTally"."delivered" + excluded."delivered",
    "byAppointment" = "KpiTally"."byAppointment" + excluded."byAppointment",
    "surveySatisfied" = "KpiTally"."surveySatisfied" + excluded."surveySatisfied",
    "promisesAnswered" = "KpiTally"."promisesAnswered" + excluded."promisesAnswered",
    "promisesAllKept" = "KpiTally"."promisesAllKept" + excluded."promisesAllKept"
$$;

-- A delivery's facts are read from its other follow-ups, so two transactions changing two
-- follow-ups of one delivery must not both read the "before" without the other's change: a
-- transaction-scoped lock serializes them, and the next statement (a new snapshot under READ
-- COMMITTED) sees what the previous holder committed. The same lock guards a delivery's own moves
-- (store, consultant, day, by appointment). Advisory locks rather than the Delivery row's: a row
-- lock would deadlock with a transaction that updates the delivery and then its follow-ups (an
-- ownership end). The locks are 256 buckets of delivery IDs, taken in order, so a statement
-- touching thousands of deliveries (a bulk load) holds at most 256 entries of the lock table.
CREATE FUNCTION kpi_lock_deliveries(ids uuid[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE k integer;
BEGIN
  FOR k IN SELECT DISTINCT abs(hashtext(id::text) % 256) FROM unnest(ids) id ORDER BY 1 LOOP
    PERFORM pg_advisory_xact_lock(1801158000, k);
  END LOOP;
END
$$;

CREATE FUNCTION kpi_follow_ups_changed(olds "FollowUp"[], news "FollowUp"[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  -- the deliveries whose facts may change: a completed call appears, disappears or changes an answer
  touched uuid[] := ARRAY(
    SELECT DISTINCT x."deliveryId" FROM (
      SELECT o."deliveryId", o.kind, o.status, o.survey, o.satisfied, o."promisesKept", o.id FROM unnest(olds) o
      UNION ALL
      SELECT n."deliveryId", n.kind, n.status, n.survey, n.satisfied, n."promisesKept", n.id FROM unnest(news) n
    ) x
    WHERE x.kind = 'call' AND x.status IN ('done_on_time', 'done_late')
    GROUP BY x."deliveryId", x.id, x.kind, x.status, x.survey, x.satisfied, x."promisesKept"
    HAVING count(*) = 1);
  deltas "KpiTally"[];
BEGIN
  deltas := ARRAY(
    SELECT t FROM unnest(olds) o CROSS JOIN LATERAL kpi_follow_up_tally(o, -1) t
    UNION ALL
    SELECT t FROM unnest(news) n CROSS JOIN LATERAL kpi_follow_up_tally(n, 1) t);
  IF cardinality(touched) > 0 THEN
    PERFORM kpi_lock_deliveries(touched);
    deltas := deltas || ARRAY(
      SELECT t::"KpiTally" FROM "Delivery" d
        -- before: the delivery's follow-ups as they are, with the changed ones as they were
        CROSS JOIN LATERAL kpi_delivery_facts(ARRAY(
          SELECT f FROM "FollowUp" f WHERE f."deliveryId" = d.id AND f.id <> ALL (ARRAY(SELECT n.id FROM unnest(news) n))
          UNION ALL SELECT o FROM unnest(olds) o WHERE o."deliveryId" = d.id)) b
        CROSS JOIN LATERAL kpi_delivery_facts(ARRAY(SELECT f FROM "FollowUp" f WHERE f."deliveryId" = d.id)) a
        CROSS JOIN LATERAL (
          SELECT * FROM kpi_delivery_tally(d, -1, b.survey_satisfied, b.promises_all_kept)
          UNION ALL SELECT * FROM kpi_delivery_tally(d, 1, a.survey_satisfied, a.promises_all_kept)) t
      WHERE d.id = ANY (touched));
  END IF;
  PERFORM kpi_tally_apply(deltas);
END
$$;

CREATE FUNCTION kpi_follow_up_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- each operation has its own trigger: a transition table exists only for the operation that names it
  IF TG_OP = 'INSERT' THEN
    PERFORM kpi_follow_ups_changed('{}'::"FollowUp"[], ARRAY(SELECT n::"FollowUp" FROM new_rows n));
  ELSIF TG_OP = 'UPDATE' THEN
    PERFORM kpi_follow_ups_changed(ARRAY(SELECT o::"FollowUp" FROM old_rows o), ARRAY(SELECT n::"FollowUp" FROM new_rows n));
  ELSE
    PERFORM kpi_follow_ups_changed(ARRAY(SELECT o::"FollowUp" FROM old_rows o), '{}'::"FollowUp"[]);
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER kpi_follow_up_insert AFTER INSERT ON "FollowUp" REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION kpi_follow_up_trigger();
CREATE TRIGGER kpi_follow_up_update AFTER UPDATE ON "FollowUp" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION kpi_follow_up_trigger();
CREATE TRIGGER kpi_follow_up_delete AFTER DELETE ON "FollowUp" REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION kpi_follow_up_trigger();

-- A delivery counts on its own day, store and consultant: moving any of them (or its
-- by-appointment flag) moves its contribution; other changes (its status, an ownership end) write nothing.
CREATE FUNCTION kpi_deliveries_changed(olds "Delivery"[], news "Delivery"[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  moved uuid[] := ARRAY(
    SELECT DISTINCT x.id FROM (
      SELECT o.id, o."storeId", o."consultantId", o."deliveredAt", o."byAppointment" FROM unnest(olds) o
      UNION ALL
      SELECT n.id, n."storeId", n."consultantId", n."deliveredAt", n."byAppointment" FROM unnest(news) n
    ) x
    GROUP BY x.id, x."storeId", x."consultantId", x."deliveredAt", x."byAppointment"
    HAVING count(*) = 1);
BEGIN
  IF cardinality(moved) = 0 THEN RETURN; END IF;
  -- a new delivery is nobody else's yet, and a deleted one has no follow-ups left: only moves race
  IF cardinality(olds) > 0 AND cardinality(news) > 0 THEN PERFORM kpi_lock_deliveries(moved); END IF;
  PERFORM kpi_tally_apply(ARRAY(
    SELECT t FROM (
      SELECT o AS d, -1 AS w FROM unnest(olds) o WHERE o.id = ANY (moved)
      UNION ALL SELECT n, 1 FROM unnest(news) n WHERE n.id = ANY (moved)
    ) c
    CROSS JOIN LATERAL kpi_delivery_facts(ARRAY(SELECT f FROM "FollowUp" f WHERE f."deliveryId" = (c.d).id)) x
    CROSS JOIN LATERAL kpi_delivery_tally(c.d, c.w, x.survey_satisfied, x.promises_all_kept) t));
END
$$;

CREATE FUNCTION kpi_delivery_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    PERFORM kpi_deliveries_changed('{}'::"Delivery"[], ARRAY(SELECT n::"Delivery" FROM new_rows n));
  ELSIF TG_OP = 'UPDATE' THEN
    PERFORM kpi_deliveries_changed(ARRAY(SELECT o::"Delivery" FROM old_rows o), ARRAY(SELECT n::"Delivery" FROM new_rows n));
  ELSE
    PERFORM kpi_deliveries_changed(ARRAY(SELECT o::"Delivery" FROM old_rows o), '{}'::"Delivery"[]);
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER kpi_delivery_insert AFTER INSERT ON "Delivery" REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION kpi_delivery_trigger();
CREATE TRIGGER kpi_delivery_update AFTER UPDATE ON "Delivery" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION kpi_delivery_trigger();
CREATE TRIGGER kpi_delivery_delete AFTER DELETE ON "Delivery" REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION kpi_delivery_trigger();

-- A store's days are its local days: a new time zone re-buckets its tallies.
CREATE FUNCTION kpi_store_time_zone_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM "KpiTally" WHERE "storeId" = NEW.id;
  INSERT INTO "KpiTally" SELECT * FROM kpi_tally_scratch(NEW.id);
  RETURN NULL;
END
$$;

CREATE TRIGGER kpi_store_time_zone AFTER UPDATE OF "timeZone" ON "Store" FOR EACH ROW
  WHEN (OLD."timeZone" IS DISTINCT FROM NEW."timeZone") EXECUTE FUNCTION kpi_store_time_zone_changed();

-- Backfill: the rows that exist already.
INSERT INTO "KpiTally" SELECT * FROM kpi_tally_scratch(NULL);
