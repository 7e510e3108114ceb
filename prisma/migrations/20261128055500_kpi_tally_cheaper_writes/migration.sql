-- The KPI tally triggers (20261128053000_kpi_tallies), cheaper per write, with the same counts:
-- - an UPDATE hands on only the rows whose counted columns changed, and returns at once when none
--   did (a call-back time, a claim, a note: most updates of a follow-up or a delivery);
-- - the delivery facts and the grouped upsert are planned once per connection (PL/pgSQL caches
--   its plans, and a set-returning SQL function is inlined into them), where a plain SQL function
--   was planned again on every call.

DROP FUNCTION kpi_delivery_facts("FollowUp"[]);
CREATE FUNCTION kpi_delivery_facts(fs "FollowUp"[]) RETURNS TABLE (survey_satisfied boolean, promises_all_kept boolean) LANGUAGE sql STABLE AS $$
  SELECT bool_and(f.satisfied) FILTER (WHERE f.survey), bool_and(f."promisesKept")
  FROM unnest(fs) f
  WHERE f.kind = 'call' AND f.status IN ('done_on_time', 'done_late')
$$;

CREATE OR REPLACE FUNCTION kpi_tally_apply(deltas "KpiTally"[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "KpiTally"
  SELECT t."storeId", t."staffId", t.day, sum(t."satisfactionD")::int, sum(t."satisfactionN")::int, sum(t."recordingCompletionD")::int,
    sum(t."recordingCompletionN")::int, sum(t."timelinessD")::int, sum(t."timelinessN")::int, sum(t."recordedLateD")::int, sum(t."recordedLateN")::int,
    sum(t."dataAccuracyD")::int, sum(t."dataAccuracyN")::int, sum(t."csatD")::int, sum(t."csatN")::int, sum(t."csatSum")::int, sum(t."npsD")::int,
    sum(t."npsN")::int, sum(t."npsS")::int, sum(t."delivered")::int, sum(t."byAppointment")::int, sum(t."surveySatisfied")::int,
    sum(t."promisesAnswered")::int, sum(t."promisesAllKept")::int
  FROM unnest(deltas) t
  GROUP BY 1, 2, 3
  HAVING sum(t."satisfactionD") <> 0 OR sum(t."satisfactionN") <> 0 OR sum(t."recordingCompletionD") <> 0 OR sum(t."recordingCompletionN") <> 0
    OR sum(t."timelinessD") <> 0 OR sum(t."timelinessN") <> 0 OR sum(t."recordedLateD") <> 0 OR sum(t."recordedLateN") <> 0
    OR sum(t."dataAccuracyD") <> 0 OR sum(t."dataAccuracyN") <> 0 OR sum(t."csatD") <> 0 OR sum(t."csatN") <> 0 OR sum(t."csatSum") <> 0
    OR sum(t."npsD") <> 0 OR sum(t."npsN") <> 0 OR sum(t."npsS") <> 0 OR sum(t."delivered") <> 0 OR sum(t."byAppointment") <> 0
    OR sum(t."surveySatisfied") <> 0 OR sum(t."promisesAnswered") <> 0 OR sum(t."promisesAllKept") <> 0
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
    "promisesAllKept" = "KpiTally"."promisesAllKept" + excluded."promisesAllKept";
END
$$;

CREATE OR REPLACE FUNCTION kpi_follow_up_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  olds "FollowUp"[];
  news "FollowUp"[];
BEGIN
  -- each operation has its own trigger: a transition table exists only for the operation that names it
  IF TG_OP = 'INSERT' THEN
    PERFORM kpi_follow_ups_changed('{}'::"FollowUp"[], ARRAY(SELECT n::"FollowUp" FROM new_rows n));
  ELSIF TG_OP = 'UPDATE' THEN
    -- only the rows whose counted columns changed (the ids never do)
    SELECT array_agg(o::"FollowUp"), array_agg(n::"FollowUp") INTO olds, news
    FROM old_rows o JOIN new_rows n ON n.id = o.id
    WHERE (o."storeId", o."assigneeId", o."dueEnd", o.kind, o.status, o.survey, o."recordedLate", o.satisfied, o.csat, o.nps,
           o."contactDataCorrect", o."deliveryId", o."promisesKept")
      IS DISTINCT FROM (n."storeId", n."assigneeId", n."dueEnd", n.kind, n.status, n.survey, n."recordedLate", n.satisfied, n.csat, n.nps,
           n."contactDataCorrect", n."deliveryId", n."promisesKept");
    IF olds IS NOT NULL THEN PERFORM kpi_follow_ups_changed(olds, news); END IF;
  ELSE
    PERFORM kpi_follow_ups_changed(ARRAY(SELECT o::"FollowUp" FROM old_rows o), '{}'::"FollowUp"[]);
  END IF;
  RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION kpi_delivery_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  olds "Delivery"[];
  news "Delivery"[];
BEGIN
  IF TG_OP = 'INSERT' THEN
    PERFORM kpi_deliveries_changed('{}'::"Delivery"[], ARRAY(SELECT n::"Delivery" FROM new_rows n));
  ELSIF TG_OP = 'UPDATE' THEN
    -- only the deliveries that moved (an ownership end, a reclaim, a started workflow move nothing)
    SELECT array_agg(o::"Delivery"), array_agg(n::"Delivery") INTO olds, news
    FROM old_rows o JOIN new_rows n ON n.id = o.id
    WHERE (o."storeId", o."consultantId", o."deliveredAt", o."byAppointment") IS DISTINCT FROM (n."storeId", n."consultantId", n."deliveredAt", n."byAppointment");
    IF olds IS NOT NULL THEN PERFORM kpi_deliveries_changed(olds, news); END IF;
  ELSE
    PERFORM kpi_deliveries_changed(ARRAY(SELECT o::"Delivery" FROM old_rows o), '{}'::"Delivery"[]);
  END IF;
  RETURN NULL;
END
$$;
