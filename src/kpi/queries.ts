/**
 * KPI reads: one aggregate statement per request, counting with `count(*) FILTER (WHERE ...)`
 * over the period's follow-ups and deliveries (see sql.ts for the predicates).
 */
import type { Db } from '../db/client';
import {
  DELIVERY_KPIS,
  DeliveryKpiKey,
  FOLLOW_UP_KPIS,
  FollowUpKpiKey,
  KPI_KEYS,
  KpiKey,
  KpiTallies,
} from '../domain/kpi';
import { Prisma } from '../generated/prisma/client';
import { DELIVERY_FACT_SQL, DELIVERY_FACTS_JOIN, deliveriesIn, followUpKpiSql, followUpsDue, KpiFilter } from './sql';

const FOLLOW_UP_KEYS = Object.keys(FOLLOW_UP_KPIS) as FollowUpKpiKey[];
const DELIVERY_KEYS = Object.keys(DELIVERY_KPIS) as DeliveryKpiKey[];

/** Column aliases come from the constant key lists, never from input. */
const alias = (key: KpiKey, part: 'd' | 'n' | 's') => Prisma.raw(`"${key}.${part}"`);

export interface KeysetPage {
  /** the (time, id) of the last row of the previous page */
  after?: { at: Date; id: string };
  limit: number;
}

export interface FollowUpKpiRow {
  id: string;
  deliveryId: string;
  storeId: string;
  assigneeId: string | null;
  dueEnd: Date;
  status: string;
  survey: boolean;
  recordedLate: boolean;
  satisfied: boolean | null;
  csat: number | null;
  nps: number | null;
  contactDataCorrect: boolean | null;
  answerChannel: string | null;
  inNumerator: boolean;
  subtracted: boolean;
}

export interface DeliveryKpiRow {
  id: string;
  storeId: string;
  consultantId: string;
  deliveredAt: Date;
  status: string;
  byAppointment: boolean;
  inNumerator: boolean;
}

export interface StaffTally {
  staffId: string;
  storeId: string;
  name: string;
  role: string;
  numerator: number;
  denominator: number;
}

export function createKpiQueries(db: Db) {
  return {
    /** Numerator and denominator of every KPI in one statement. */
    async tallies(filter: KpiFilter): Promise<KpiTallies> {
      const followUpColumns = FOLLOW_UP_KEYS.flatMap((key) => {
        const sql = followUpKpiSql(key, filter.asOf);
        return [
          Prisma.sql`count(*) FILTER (WHERE ${sql.denominator})::int AS ${alias(key, 'd')}`,
          Prisma.sql`count(*) FILTER (WHERE ${sql.numerator})::int AS ${alias(key, 'n')}`,
          ...('subtract' in FOLLOW_UP_KPIS[key] ? [Prisma.sql`count(*) FILTER (WHERE ${sql.subtracted})::int AS ${alias(key, 's')}`] : []),
        ];
      });
      const deliveryColumns = DELIVERY_KEYS.flatMap((key) => [
        Prisma.sql`count(*) FILTER (WHERE ${DELIVERY_FACT_SQL[DELIVERY_KPIS[key].denominator]})::int AS ${alias(key, 'd')}`,
        Prisma.sql`count(*) FILTER (WHERE ${DELIVERY_FACT_SQL[DELIVERY_KPIS[key].numerator]})::int AS ${alias(key, 'n')}`,
      ]);
      const [row] = await db.$queryRaw<Record<string, number>[]>`
        WITH fu AS (
          SELECT ${Prisma.join(followUpColumns)},
                 coalesce(sum(f.csat) FILTER (WHERE ${followUpKpiSql('csat', filter.asOf).denominator}), 0)::int AS "csatSum"
          FROM "FollowUp" f
          WHERE ${followUpsDue(filter)}
        ), dl AS (
          SELECT ${Prisma.join(deliveryColumns)}
          FROM "Delivery" d ${DELIVERY_FACTS_JOIN}
          WHERE ${deliveriesIn(filter)}
        )
        SELECT * FROM fu CROSS JOIN dl`;
      const byKey = Object.fromEntries(
        KPI_KEYS.map((key) => [key, { denominator: row[`${key}.d`], numerator: row[`${key}.n`], subtracted: row[`${key}.s`] ?? 0 }]),
      ) as KpiTallies['byKey'];
      return { byKey, csatSum: row.csatSum };
    },

    /** The follow-ups in a KPI's denominator, oldest due first. */
    async followUpRows(key: FollowUpKpiKey, filter: KpiFilter, page: KeysetPage): Promise<FollowUpKpiRow[]> {
      const sql = followUpKpiSql(key, filter.asOf);
      const after = page.after
        ? Prisma.sql`AND f."dueEnd" >= ${page.after.at}::timestamptz AND (f."dueEnd", f.id) > (${page.after.at}::timestamptz, ${page.after.id}::uuid)`
        : Prisma.empty;
      return db.$queryRaw<FollowUpKpiRow[]>`
        SELECT f.id::text AS id, f."deliveryId"::text AS "deliveryId", f."storeId", f."assigneeId"::text AS "assigneeId",
               f."dueEnd", f.status, f.survey, f."recordedLate", f.satisfied, f.csat, f.nps, f."contactDataCorrect", f."answerChannel",
               ${sql.numerator} AS "inNumerator", ${sql.subtracted} AS subtracted
        FROM "FollowUp" f
        WHERE ${followUpsDue(filter)} AND ${sql.denominator} ${after}
        ORDER BY f."dueEnd", f.id
        LIMIT ${page.limit}::int`;
    },

    /** The deliveries in a KPI's denominator, oldest first. */
    async deliveryRows(key: DeliveryKpiKey, filter: KpiFilter, page: KeysetPage): Promise<DeliveryKpiRow[]> {
      const def = DELIVERY_KPIS[key];
      const after = page.after
        ? Prisma.sql`AND d."deliveredAt" >= ${page.after.at}::timestamptz AND (d."deliveredAt", d.id) > (${page.after.at}::timestamptz, ${page.after.id}::uuid)`
        : Prisma.empty;
      return db.$queryRaw<DeliveryKpiRow[]>`
        SELECT d.id::text AS id, d."storeId", d."consultantId"::text AS "consultantId", d."deliveredAt", d.status, d."byAppointment",
               ${DELIVERY_FACT_SQL[def.numerator]} AS "inNumerator"
        FROM "Delivery" d ${DELIVERY_FACTS_JOIN}
        WHERE ${deliveriesIn(filter)} AND ${DELIVERY_FACT_SQL[def.denominator]} ${after}
        ORDER BY d."deliveredAt", d.id
        LIMIT ${page.limit}::int`;
    },

    /** Numerator and denominator per assignee; unassigned follow-ups belong to nobody's rank. */
    async byAssignee(metric: FollowUpKpiKey, filter: KpiFilter): Promise<StaffTally[]> {
      const sql = followUpKpiSql(metric, filter.asOf);
      return db.$queryRaw<StaffTally[]>`
        WITH per AS (
          SELECT f."assigneeId" AS id,
                 count(*) FILTER (WHERE ${sql.numerator})::int AS numerator,
                 count(*)::int AS denominator
          FROM "FollowUp" f
          WHERE ${followUpsDue(filter)} AND f."assigneeId" IS NOT NULL AND ${sql.denominator}
          GROUP BY f."assigneeId"
        )
        SELECT per.id::text AS "staffId", s."storeId", s.name, s.role, per.numerator, per.denominator
        FROM per JOIN "Staff" s ON s.id = per.id`;
    },

    /** Numerator and denominator per consultant who sold the deliveries. */
    async byConsultant(metric: DeliveryKpiKey, filter: KpiFilter): Promise<StaffTally[]> {
      const def = DELIVERY_KPIS[metric];
      return db.$queryRaw<StaffTally[]>`
        WITH per AS (
          SELECT d."consultantId" AS id,
                 count(*) FILTER (WHERE ${DELIVERY_FACT_SQL[def.numerator]})::int AS numerator,
                 count(*)::int AS denominator
          FROM "Delivery" d ${DELIVERY_FACTS_JOIN}
          WHERE ${deliveriesIn(filter)} AND ${DELIVERY_FACT_SQL[def.denominator]}
          GROUP BY d."consultantId"
        )
        SELECT per.id::text AS "staffId", s."storeId", s.name, s.role, per.numerator, per.denominator
        FROM per JOIN "Staff" s ON s.id = per.id`;
    },
  };
}

export type KpiQueries = ReturnType<typeof createKpiQueries>;
