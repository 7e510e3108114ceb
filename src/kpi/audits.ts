/**
 * The manager audit's reads: the figures of src/domain/audits.ts per staff member, team or store
 * in one statement, and the rows behind any one number. Follow-up figures compile through the
 * KPIs' own SQL (sql.ts), over the same due follow-ups.
 */
import type { Db } from '../db/client';
import {
  type AuditGrouping,
  CASE_AUDIT_FIGURE_KEYS,
  CASE_AUDIT_FIGURES,
  type CaseAuditFigure,
  type CaseCondition,
  FOLLOW_UP_AUDIT_FIGURE_KEYS,
  FOLLOW_UP_AUDIT_FIGURES,
  type FollowUpAuditFigure,
} from '../domain/audits';
import { Prisma } from '../generated/prisma/client';
import type { KeysetPage } from './queries';
import { allOf, followUpsDue } from './sql';

export interface AuditFilter {
  storeId: string;
  from: Date;
  /** exclusive */
  to: Date;
  /** when the audit is read: windows and deadlines passed by then count */
  asOf: Date;
  /** only what these staff members hold (a supervisor's team); absent: the whole store */
  people?: string[];
}

/** One group's row: its ID (a staff member's, a team's supervisor's, the store's; null: nobody holds it) and each figure. */
export type AuditGroupRow<F extends string> = { groupId: string | null; name: string | null; role: string | null } & Record<F, number>;

/** Where a row belongs: `s` is the holder's Staff row. Column names only, from constants. */
const GROUP_SQL: Record<AuditGrouping, (holder: Prisma.Sql) => Prisma.Sql> = {
  staff: () => Prisma.sql`s.id::text`,
  team: () => Prisma.sql`(CASE WHEN s.role = 'supervisor' THEN s.id ELSE s."supervisorId" END)::text`,
  store: (row) => Prisma.sql`${row}."storeId"`,
};

/** A group, for the rows behind its number; id null: what nobody holds. */
export type AuditGroupMember = { by: AuditGrouping; id: string | null };

const alias = (figure: string) => Prisma.raw(`"${figure}"`);
const peopleSql = (column: Prisma.Sql, people?: string[]) =>
  (people ? Prisma.sql`AND ${column} IN (${people.length ? Prisma.join(people.map((p) => Prisma.sql`${p}::uuid`)) : Prisma.sql`NULL`})` : Prisma.empty);
const memberSql = (member: AuditGroupMember, row: Prisma.Sql) =>
  Prisma.sql`AND ${GROUP_SQL[member.by](row)} IS NOT DISTINCT FROM ${member.id}`;

function caseConditionSql(c: CaseCondition, asOf: Date): Prisma.Sql {
  if ('status' in c) return Prisma.sql`c.status IN (${Prisma.join(c.status)})`;
  if ('overdue' in c) return Prisma.sql`c."dueAt" IS NOT NULL AND c."dueAt" < ${asOf}::timestamptz`;
  // The first response: acknowledging it, or resolving it straight away.
  if ('respondedLate' in c) return Prisma.sql`c."respondBy" IS NOT NULL AND coalesce(c."acknowledgedAt", c."resolvedAt", ${asOf}::timestamptz) > c."respondBy"`;
  return Prisma.sql`c."resolveBy" IS NOT NULL AND c."resolvedAt" > c."resolveBy"`;
}
const allCaseConditions = (conditions: readonly CaseCondition[], asOf: Date) =>
  (conditions.length ? Prisma.join(conditions.map((c) => Prisma.sql`(${caseConditionSql(c, asOf)})`), ' AND ') : Prisma.sql`true`);

const casesOpenedIn = (f: AuditFilter) =>
  Prisma.sql`c."storeId" = ${f.storeId} AND c."createdAt" >= ${f.from}::timestamptz AND c."createdAt" < ${f.to}::timestamptz ${peopleSql(Prisma.sql`c."assigneeId"`, f.people)}`;
const followUpsOf = (f: AuditFilter) =>
  Prisma.sql`${followUpsDue({ storeId: f.storeId, from: f.from, to: f.to, asOf: f.asOf })} ${peopleSql(Prisma.sql`f."assigneeId"`, f.people)}`;

export interface AuditFollowUpRow {
  id: string; deliveryId: string; stepKey: string; assigneeId: string | null; dueStart: Date; dueEnd: Date; status: string;
  completedAt: Date | null; recordedLate: boolean;
}
export interface AuditCaseRow {
  id: string; deliveryId: string; assigneeId: string | null; reason: string; status: string; level: number; createdAt: Date;
  respondBy: Date | null; acknowledgedAt: Date | null; resolveBy: Date | null; resolvedAt: Date | null; dueAt: Date | null;
}

export function createAuditQueries(db: Db) {
  return {
    async followUpFigures(filter: AuditFilter, by: AuditGrouping): Promise<AuditGroupRow<FollowUpAuditFigure>[]> {
      const columns = FOLLOW_UP_AUDIT_FIGURE_KEYS.map((k) => Prisma.sql`count(*) FILTER (WHERE ${allOf(FOLLOW_UP_AUDIT_FIGURES[k], filter.asOf)})::int AS ${alias(k)}`);
      return db.$queryRaw`
        WITH per AS (
          SELECT ${GROUP_SQL[by](Prisma.raw('f'))} AS "groupId", ${Prisma.join(columns)}
          FROM "FollowUp" f LEFT JOIN "Staff" s ON s.id = f."assigneeId"
          WHERE ${followUpsOf(filter)}
          GROUP BY 1
        )
        SELECT per.*, g.name, g.role FROM per LEFT JOIN "Staff" g ON g.id::text = per."groupId"
        ORDER BY g.name NULLS LAST, per."groupId"`;
    },

    async caseFigures(filter: AuditFilter, by: AuditGrouping): Promise<AuditGroupRow<CaseAuditFigure>[]> {
      const columns = CASE_AUDIT_FIGURE_KEYS.map((k) => Prisma.sql`count(*) FILTER (WHERE ${allCaseConditions(CASE_AUDIT_FIGURES[k], filter.asOf)})::int AS ${alias(k)}`);
      return db.$queryRaw`
        WITH per AS (
          SELECT ${GROUP_SQL[by](Prisma.raw('c'))} AS "groupId", ${Prisma.join(columns)}
          FROM "EscalationCase" c LEFT JOIN "Staff" s ON s.id = c."assigneeId"
          WHERE ${casesOpenedIn(filter)}
          GROUP BY 1
        )
        SELECT per.*, g.name, g.role FROM per LEFT JOIN "Staff" g ON g.id::text = per."groupId"
        ORDER BY g.name NULLS LAST, per."groupId"`;
    },

    /** The follow-ups behind one figure of one group, by the end of their window. */
    async followUpRows(filter: AuditFilter, figure: FollowUpAuditFigure, member: AuditGroupMember | null, page: KeysetPage): Promise<AuditFollowUpRow[]> {
      const after = page.after ? Prisma.sql`AND (f."dueEnd", f.id) > (${page.after.at}::timestamptz, ${page.after.id}::uuid)` : Prisma.empty;
      return db.$queryRaw`
        SELECT f.id::text AS id, f."deliveryId"::text AS "deliveryId", f."stepKey", f."assigneeId"::text AS "assigneeId", f."dueStart", f."dueEnd",
               f.status, f."completedAt", f."recordedLate"
        FROM "FollowUp" f LEFT JOIN "Staff" s ON s.id = f."assigneeId"
        WHERE ${followUpsOf(filter)} AND ${allOf(FOLLOW_UP_AUDIT_FIGURES[figure], filter.asOf)}
          ${member ? memberSql(member, Prisma.raw('f')) : Prisma.empty} ${after}
        ORDER BY f."dueEnd", f.id
        LIMIT ${page.limit}::int`;
    },

    /** The cases behind one figure of one group, by when they were opened. */
    async caseRows(filter: AuditFilter, figure: CaseAuditFigure, member: AuditGroupMember | null, page: KeysetPage): Promise<AuditCaseRow[]> {
      const after = page.after ? Prisma.sql`AND (c."createdAt", c.id) > (${page.after.at}::timestamptz, ${page.after.id}::uuid)` : Prisma.empty;
      return db.$queryRaw`
        SELECT c.id::text AS id, c."deliveryId"::text AS "deliveryId", c."assigneeId"::text AS "assigneeId", c.reason, c.status, c.level, c."createdAt",
               c."respondBy", c."acknowledgedAt", c."resolveBy", c."resolvedAt", c."dueAt"
        FROM "EscalationCase" c LEFT JOIN "Staff" s ON s.id = c."assigneeId"
        WHERE ${casesOpenedIn(filter)} AND ${allCaseConditions(CASE_AUDIT_FIGURES[figure], filter.asOf)}
          ${member ? memberSql(member, Prisma.raw('c')) : Prisma.empty} ${after}
        ORDER BY c."createdAt", c.id
        LIMIT ${page.limit}::int`;
    },
  };
}

export type AuditQueries = ReturnType<typeof createAuditQueries>;
