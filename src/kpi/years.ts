/**
 * The KPIs of the years after delivery (src/domain/kpi.ts YEARS_KPI_KEYS), compiled from their
 * definitions: cycle rates over "YearsCycle" (aliased `c`), post-service satisfaction and the
 * invitation-to-visit rate over the follow-ups (aliased `f`).
 */
import type { Db } from '../db/client';
import { CYCLE_KPIS, CycleFact, type FollowUpKpiDefinition, INVITATION_TO_VISIT, type KpiTally, POST_SERVICE_SATISFACTION, YEARS_KPI_KEYS, type YearsKpiKey } from '../domain/kpi';
import { Prisma } from '../generated/prisma/client';
import { allOf, followUpsDue, type KpiFilter } from './sql';

/** The period's store-local dates (cycles are due on dates): [fromOn, toOn) and today. */
export interface CycleDates {
  fromOn: string;
  toOn: string;
  todayOn: string;
}

function cycleFactSql(fact: CycleFact, dates: CycleDates): Prisma.Sql {
  switch (fact) {
    case 'reminded': return Prisma.sql`c."remindedAt" IS NOT NULL`;
    case 'booked': return Prisma.sql`c."bookedAt" IS NOT NULL`;
    case 'done': return Prisma.sql`c."doneAt" IS NOT NULL`;
    case 'due': return Prisma.sql`(c."dueOn" < ${dates.todayOn}::date OR c."doneAt" IS NOT NULL)`;
  }
}

const alias = (key: string, part: 'd' | 'n') => Prisma.raw(`"${key}.${part}"`);
const CYCLE_KEYS = Object.keys(CYCLE_KPIS) as (keyof typeof CYCLE_KPIS)[];

export function createYearsKpiQueries(db: Db) {
  return {
    /** Numerator and denominator of every years KPI in one statement. Cycles belong to no staff member: a staff filter counts none. */
    async tallies(filter: KpiFilter, dates: CycleDates): Promise<Record<YearsKpiKey, KpiTally>> {
      const cycleColumns = CYCLE_KEYS.flatMap((key) => {
        const def = CYCLE_KPIS[key];
        const denominator = Prisma.sql`c.kind = ${def.kind} AND ${cycleFactSql(def.denominator, dates)}`;
        return [
          Prisma.sql`count(*) FILTER (WHERE ${denominator})::int AS ${alias(key, 'd')}`,
          Prisma.sql`count(*) FILTER (WHERE ${denominator} AND ${cycleFactSql(def.numerator, dates)})::int AS ${alias(key, 'n')}`,
        ];
      });
      const followUpColumns = ([['postServiceSatisfaction', POST_SERVICE_SATISFACTION], ['invitationToVisit', INVITATION_TO_VISIT]] as const).flatMap(([key, def]: readonly [string, FollowUpKpiDefinition]) => [
        Prisma.sql`count(*) FILTER (WHERE ${allOf(def.denominator, filter.asOf)})::int AS ${alias(key, 'd')}`,
        Prisma.sql`count(*) FILTER (WHERE ${allOf([...def.denominator, ...def.numerator], filter.asOf)})::int AS ${alias(key, 'n')}`,
      ]);
      const [row] = await db.$queryRaw<Record<string, number>[]>`
        WITH cy AS (
          SELECT ${Prisma.join(cycleColumns)}
          FROM "YearsCycle" c
          WHERE c."dueOn" >= ${dates.fromOn}::date AND c."dueOn" < ${dates.toOn}::date
            ${filter.storeId ? Prisma.sql`AND c."storeId" = ${filter.storeId}` : Prisma.empty}
            ${filter.staffId ? Prisma.sql`AND false` : Prisma.empty}
        ), ps AS (
          SELECT ${Prisma.join(followUpColumns)}
          FROM "FollowUp" f
          WHERE ${followUpsDue(filter)}
        )
        SELECT * FROM cy CROSS JOIN ps`;
      return Object.fromEntries(YEARS_KPI_KEYS.map((key) => [key, { denominator: row[`${key}.d`], numerator: row[`${key}.n`], subtracted: 0 }])) as Record<YearsKpiKey, KpiTally>;
    },
  };
}
