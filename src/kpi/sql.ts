/**
 * SQL fragments compiled from the KPI definitions in src/domain/kpi.ts. Every value is a bound
 * parameter; the only raw text is column names and aliases taken from constants.
 * Follow-up rows are aliased `f`, deliveries `d`, a delivery's follow-up facts `x`.
 */
import {
  COMPLETED_STATUSES,
  COUNTED_KIND,
  DeliveryFact,
  FOLLOW_UP_KPIS,
  FollowUpCondition,
  FollowUpKpiDefinition,
  FollowUpKpiKey,
  UNCOUNTED_STATUSES,
} from '../domain/kpi';
import { Prisma } from '../generated/prisma/client';

export interface KpiFilter {
  /** absent: every store the actor spans */
  storeId?: string;
  /** also only these stores (the stores of one time zone, when a group's stores keep several) */
  storeIds?: readonly string[];
  /** follow-ups assigned to them; deliveries they sold */
  staffId?: string;
  from: Date;
  /** exclusive */
  to: Date;
  /** when the KPI is read (now): windows closed by then count */
  asOf: Date;
}

const COLUMNS = {
  csat: Prisma.raw('f.csat'),
  nps: Prisma.raw('f.nps'),
  satisfied: Prisma.raw('f.satisfied'),
  contactDataCorrect: Prisma.raw('f."contactDataCorrect"'),
  survey: Prisma.raw('f.survey'),
  recordedLate: Prisma.raw('f."recordedLate"'),
};

function conditionSql(c: FollowUpCondition, asOf: Date): Prisma.Sql {
  if ('status' in c) return Prisma.sql`f.status IN (${Prisma.join(c.status)})`;
  if ('windowClosed' in c) return Prisma.sql`f."dueEnd" <= ${asOf}::timestamptz`;
  if ('stepKeyPrefix' in c) return Prisma.sql`f."stepKey" LIKE ${`${c.stepKeyPrefix}%`}`;
  if ('is' in c) return Prisma.sql`f."showroomVisit" IS NOT DISTINCT FROM ${c.is}`;
  if ('equals' in c) return Prisma.sql`${COLUMNS[c.field]} IS NOT DISTINCT FROM ${c.equals}::boolean`;
  if ('answered' in c) return Prisma.sql`${COLUMNS[c.field]} IS NOT NULL`;
  const column = COLUMNS[c.field];
  const parts = [Prisma.sql`${column} IS NOT NULL`];
  if (c.min !== undefined) parts.push(Prisma.sql`${column} >= ${c.min}::int`);
  if (c.max !== undefined) parts.push(Prisma.sql`${column} <= ${c.max}::int`);
  return Prisma.join(parts, ' AND ');
}

/** Never NULL, so it can stand as a row's boolean as well as in a FILTER clause. Also compiles the manager audit's figures. */
export function allOf(conditions: readonly FollowUpCondition[], asOf: Date): Prisma.Sql {
  if (conditions.length === 0) return Prisma.sql`true`;
  return Prisma.join(conditions.map((c) => Prisma.sql`(${conditionSql(c, asOf)})`), ' AND ');
}

/** A follow-up KPI's predicates on `f`; numerator and subtracted rows are denominator rows by construction. */
export function followUpKpiSql(key: FollowUpKpiKey, asOf: Date): { denominator: Prisma.Sql; numerator: Prisma.Sql; subtracted: Prisma.Sql } {
  const def: FollowUpKpiDefinition = FOLLOW_UP_KPIS[key];
  return {
    denominator: allOf(def.denominator, asOf),
    numerator: allOf([...def.denominator, ...def.numerator], asOf),
    subtracted: def.subtract ? allOf([...def.denominator, ...def.subtract], asOf) : Prisma.sql`false`,
  };
}

/** The rows every follow-up KPI starts from: counted call tasks due in the period, within scope. */
export function followUpsDue(filter: KpiFilter): Prisma.Sql {
  return Prisma.sql`f.kind = ${COUNTED_KIND}
    AND f.status NOT IN (${Prisma.join(UNCOUNTED_STATUSES)})
    AND f."dueEnd" >= ${filter.from}::timestamptz AND f."dueEnd" < ${filter.to}::timestamptz
    ${filter.storeId ? Prisma.sql`AND f."storeId" = ${filter.storeId}` : Prisma.empty}
    ${filter.storeIds ? Prisma.sql`AND f."storeId" IN (${Prisma.join(filter.storeIds)})` : Prisma.empty}
    ${filter.staffId ? Prisma.sql`AND f."assigneeId" = ${filter.staffId}::uuid` : Prisma.empty}`;
}

/** Deliveries of the period, within scope. */
export function deliveriesIn(filter: KpiFilter): Prisma.Sql {
  return Prisma.sql`d."deliveredAt" >= ${filter.from}::timestamptz AND d."deliveredAt" < ${filter.to}::timestamptz
    ${filter.storeId ? Prisma.sql`AND d."storeId" = ${filter.storeId}` : Prisma.empty}
    ${filter.storeIds ? Prisma.sql`AND d."storeId" IN (${Prisma.join(filter.storeIds)})` : Prisma.empty}
    ${filter.staffId ? Prisma.sql`AND d."consultantId" = ${filter.staffId}::uuid` : Prisma.empty}`;
}

/**
 * One row `x` per delivery, read from its completed call follow-ups. bool_and skips NULLs, so it
 * is NULL when nothing was answered, TRUE when every answer was yes, FALSE when any was no.
 */
export const DELIVERY_FACTS_JOIN = Prisma.sql`LEFT JOIN LATERAL (
  SELECT bool_and(f.satisfied) FILTER (WHERE f.survey) AS "surveySatisfied",
         bool_and(f."promisesKept") AS "promisesAllKept"
  FROM "FollowUp" f
  WHERE f."deliveryId" = d.id AND f.kind = ${COUNTED_KIND} AND f.status IN (${Prisma.join(COMPLETED_STATUSES)})
) x ON true`;

/** The DeliveryFact predicates on `x`, each never NULL. */
export const DELIVERY_FACT_SQL: Record<DeliveryFact, Prisma.Sql> = {
  delivered: Prisma.sql`true`,
  byAppointment: Prisma.sql`d."byAppointment"`,
  surveySatisfied: Prisma.sql`(x."surveySatisfied" IS TRUE)`,
  promisesAnswered: Prisma.sql`(x."promisesAllKept" IS NOT NULL)`,
  promisesAllKept: Prisma.sql`(x."promisesAllKept" IS TRUE)`,
};
