/**
 * KPI reads. Counts come from two places that answer alike: the KpiTally rows (per store, staff
 * member and store-local day, kept by triggers in the follow-up's own transaction) for the whole
 * days of the period whose windows have all closed, and `count(*) FILTER (WHERE ...)` over the
 * follow-ups and deliveries themselves (see sql.ts for the predicates) for the partial days at
 * either end and the days not yet over. The rows behind a KPI are always read from the follow-ups.
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
import { tallyDays } from '../domain/kpi-days';
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

/** Unassigned follow-ups are tallied under the nil UUID (a key column cannot be NULL); they rank nobody. */
const NOBODY = '00000000-0000-0000-0000-000000000000';

/** Whole days read from KpiTally: [fromDay, toDay) in the stores' own time zone. */
interface TalliedDays {
  storeIds?: readonly string[];
  fromDay: string;
  toDay: string;
}

/** The KpiTally columns each KPI sums: `<key>D/N/S` for follow-up KPIs, the DeliveryFact names for delivery KPIs. */
const tallyColumn = (key: KpiKey, part: 'd' | 'n' | 's') => {
  if (key in DELIVERY_KPIS) {
    const def = DELIVERY_KPIS[key as DeliveryKpiKey];
    return Prisma.raw(`t."${part === 'd' ? def.denominator : def.numerator}"`);
  }
  return Prisma.raw(`t."${key}${part.toUpperCase()}"`);
};

function talliedWhere(days: TalliedDays, filter: KpiFilter): Prisma.Sql {
  return Prisma.sql`t.day >= ${days.fromDay}::date AND t.day < ${days.toDay}::date
    ${filter.storeId ? Prisma.sql`AND t."storeId" = ${filter.storeId}` : Prisma.empty}
    ${days.storeIds ? Prisma.sql`AND t."storeId" IN (${Prisma.join(days.storeIds)})` : Prisma.empty}
    ${filter.staffId ? Prisma.sql`AND t."staffId" = ${filter.staffId}::uuid` : Prisma.empty}`;
}

function talliesOf(row: Record<string, number>): KpiTallies {
  const byKey = Object.fromEntries(
    KPI_KEYS.map((key) => [key, { denominator: row[`${key}.d`], numerator: row[`${key}.n`], subtracted: row[`${key}.s`] ?? 0 }]),
  ) as KpiTallies['byKey'];
  return { byKey, csatSum: row.csatSum };
}

function addTallies(a: KpiTallies, b: KpiTallies): KpiTallies {
  const byKey = Object.fromEntries(KPI_KEYS.map((key) => {
    const x = a.byKey[key];
    const y = b.byKey[key];
    return [key, { denominator: x.denominator + y.denominator, numerator: x.numerator + y.numerator, subtracted: x.subtracted + y.subtracted }];
  })) as KpiTallies['byKey'];
  return { byKey, csatSum: a.csatSum + b.csatSum };
}

export function createKpiQueries(db: Db) {
  /**
   * Splits a filter's period, per time zone of the stores in scope, into whole closed days (read
   * from the tallies) and the rest (counted row by row), which together cover it exactly once.
   */
  async function split(filter: KpiFilter): Promise<{ tallied: TalliedDays[]; direct: KpiFilter[] }> {
    const zones = await db.$queryRaw<{ timeZone: string; storeIds: string[] }[]>`
      SELECT "timeZone", array_agg(id ORDER BY id) AS "storeIds" FROM "Store"
      ${filter.storeId ? Prisma.sql`WHERE id = ${filter.storeId}` : Prisma.empty}
      GROUP BY "timeZone"`;
    if (zones.length === 0) return { tallied: [], direct: [filter] };
    const tallied: TalliedDays[] = [];
    const direct: KpiFilter[] = [];
    for (const zone of zones) {
      const storeIds = zones.length > 1 ? zone.storeIds : undefined;
      const days = tallyDays(filter, zone.timeZone);
      if (!days) {
        direct.push({ ...filter, storeIds });
        continue;
      }
      tallied.push({ storeIds, fromDay: days.fromDay, toDay: days.toDay });
      if (filter.from < days.from) direct.push({ ...filter, storeIds, to: days.from });
      if (days.to < filter.to) direct.push({ ...filter, storeIds, from: days.to });
    }
    return { tallied, direct };
  }

  /** Numerator and denominator of every KPI in one statement, row by row. */
  async function countRows(filter: KpiFilter): Promise<KpiTallies> {
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
    return talliesOf(row);
  }

  /** The same counts summed from the tallies of whole days. */
  async function sumTallied(days: TalliedDays, filter: KpiFilter): Promise<KpiTallies> {
    const columns = KPI_KEYS.flatMap((key) => [
      Prisma.sql`coalesce(sum(${tallyColumn(key, 'd')}), 0)::int AS ${alias(key, 'd')}`,
      Prisma.sql`coalesce(sum(${tallyColumn(key, 'n')}), 0)::int AS ${alias(key, 'n')}`,
      ...('subtract' in (FOLLOW_UP_KPIS[key as FollowUpKpiKey] ?? {}) ? [Prisma.sql`coalesce(sum(${tallyColumn(key, 's')}), 0)::int AS ${alias(key, 's')}`] : []),
    ]);
    const [row] = await db.$queryRaw<Record<string, number>[]>`
      SELECT ${Prisma.join(columns)}, coalesce(sum(t."csatSum"), 0)::int AS "csatSum"
      FROM "KpiTally" t WHERE ${talliedWhere(days, filter)}`;
    return talliesOf(row);
  }

  /**
   * Numerator and denominator per person over the split period: `rows(part)` counts one direct
   * part row by row, `tallied` names the numerator and denominator columns of the tallies.
   */
  async function perStaff(filter: KpiFilter, rows: (part: KpiFilter) => Prisma.Sql, tallied: { numerator: Prisma.Sql; denominator: Prisma.Sql }): Promise<StaffTally[]> {
    const { tallied: days, direct } = await split(filter);
    const parts = [
      ...days.map((d) => Prisma.sql`SELECT t."staffId" AS id, sum(${tallied.numerator})::int AS numerator, sum(${tallied.denominator})::int AS denominator
        FROM "KpiTally" t WHERE ${talliedWhere(d, filter)} AND t."staffId" <> ${NOBODY}::uuid GROUP BY t."staffId"`),
      ...direct.map(rows),
    ];
    return db.$queryRaw<StaffTally[]>`
      WITH per AS (${Prisma.join(parts, ' UNION ALL ')})
      SELECT per.id::text AS "staffId", s."storeId", s.name, s.role, sum(per.numerator)::int AS numerator, sum(per.denominator)::int AS denominator
      FROM per JOIN "Staff" s ON s.id = per.id
      GROUP BY per.id, s."storeId", s.name, s.role
      HAVING sum(per.denominator) > 0`;
  }

  return {
    /** Numerator and denominator of every KPI: whole closed days from the tallies, the rest row by row. */
    async tallies(filter: KpiFilter): Promise<KpiTallies> {
      const { tallied, direct } = await split(filter);
      const parts = await Promise.all([...tallied.map((d) => sumTallied(d, filter)), ...direct.map(countRows)]);
      return parts.reduce(addTallies);
    },

    /** Every KPI counted row by row over the whole period: the reference the tallies must equal. */
    countRows,

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
      return perStaff(filter, (part) => Prisma.sql`
        SELECT f."assigneeId" AS id, count(*) FILTER (WHERE ${sql.numerator})::int AS numerator, count(*)::int AS denominator
        FROM "FollowUp" f
        WHERE ${followUpsDue(part)} AND f."assigneeId" IS NOT NULL AND ${sql.denominator}
        GROUP BY f."assigneeId"`, { numerator: tallyColumn(metric, 'n'), denominator: tallyColumn(metric, 'd') });
    },

    /** Numerator and denominator per consultant who sold the deliveries. */
    async byConsultant(metric: DeliveryKpiKey, filter: KpiFilter): Promise<StaffTally[]> {
      const def = DELIVERY_KPIS[metric];
      return perStaff(filter, (part) => Prisma.sql`
        SELECT d."consultantId" AS id, count(*) FILTER (WHERE ${DELIVERY_FACT_SQL[def.numerator]})::int AS numerator, count(*)::int AS denominator
        FROM "Delivery" d ${DELIVERY_FACTS_JOIN}
        WHERE ${deliveriesIn(part)} AND ${DELIVERY_FACT_SQL[def.denominator]}
        GROUP BY d."consultantId"`, { numerator: tallyColumn(metric, 'n'), denominator: tallyColumn(metric, 'd') });
    },
  };
}

export type KpiQueries = ReturnType<typeof createKpiQueries>;
