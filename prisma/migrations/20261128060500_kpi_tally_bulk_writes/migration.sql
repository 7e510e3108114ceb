-- The KPI tally triggers on statements that write thousands of rows at once (an import, a bulk
-- load, a staff exit): the deliveries' facts before and after are read with joins over the
-- statement's rows instead of scanning the changed rows once per delivery (quadratic in the
-- statement's size). Same counts.

CREATE OR REPLACE FUNCTION kpi_follow_ups_changed(olds "FollowUp"[], news "FollowUp"[]) RETURNS void LANGUAGE plpgsql AS $$
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
      WITH now_rows AS (
        -- the touched deliveries' completed calls as they are now
        SELECT f.id, f."deliveryId", f.survey, f.satisfied, f."promisesKept"
        FROM unnest(touched) AS x(id) JOIN "FollowUp" f ON f."deliveryId" = x.id
        WHERE f.kind = 'call' AND f.status IN ('done_on_time', 'done_late')
      ), before_rows AS (
        -- and as they were: without this statement's new rows, with its old ones
        SELECT r."deliveryId", r.survey, r.satisfied, r."promisesKept" FROM now_rows r
        WHERE NOT EXISTS (SELECT 1 FROM unnest(news) n WHERE n.id = r.id)
        UNION ALL
        SELECT o."deliveryId", o.survey, o.satisfied, o."promisesKept" FROM unnest(olds) o
        WHERE o.kind = 'call' AND o.status IN ('done_on_time', 'done_late')
      ), after_facts AS (
        SELECT "deliveryId" AS id, bool_and(satisfied) FILTER (WHERE survey) AS ss, bool_and("promisesKept") AS pak FROM now_rows GROUP BY 1
      ), before_facts AS (
        SELECT "deliveryId" AS id, bool_and(satisfied) FILTER (WHERE survey) AS ss, bool_and("promisesKept") AS pak FROM before_rows GROUP BY 1
      )
      SELECT t::"KpiTally"
      FROM unnest(touched) AS x(id)
      JOIN "Delivery" d ON d.id = x.id
      LEFT JOIN before_facts b ON b.id = d.id
      LEFT JOIN after_facts a ON a.id = d.id
      CROSS JOIN LATERAL (
        SELECT * FROM kpi_delivery_tally(d, -1, b.ss, b.pak)
        UNION ALL SELECT * FROM kpi_delivery_tally(d, 1, a.ss, a.pak)) t);
  END IF;
  PERFORM kpi_tally_apply(deltas);
END
$$;

-- The trigger passes only deliveries that moved (every one, for an INSERT or a DELETE).
CREATE OR REPLACE FUNCTION kpi_deliveries_changed(olds "Delivery"[], news "Delivery"[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  -- a new delivery is nobody else's yet, and a deleted one has no follow-ups left: only moves race
  IF cardinality(olds) > 0 AND cardinality(news) > 0 THEN PERFORM kpi_lock_deliveries(ARRAY(SELECT n.id FROM unnest(news) n)); END IF;
  PERFORM kpi_tally_apply(ARRAY(
    SELECT t FROM (
      SELECT o AS d, -1 AS w FROM unnest(olds) o
      UNION ALL SELECT n, 1 FROM unnest(news) n
    ) c
    LEFT JOIN LATERAL (
      SELECT bool_and(f.satisfied) FILTER (WHERE f.survey) AS ss, bool_and(f."promisesKept") AS pak
      FROM "FollowUp" f WHERE f."deliveryId" = (c.d).id AND f.kind = 'call' AND f.status IN ('done_on_time', 'done_late')
    ) x ON true
    CROSS JOIN LATERAL kpi_delivery_tally(c.d, c.w, x.ss, x.pak) t));
END
$$;
