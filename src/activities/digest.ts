import { DIGEST_KPIS, DIGEST_LIST_LIMIT, type DigestTask, digestDay, digestMail, thresholdBreaches, thresholdMail } from '../domain/digest';
import { kpiValues } from '../domain/kpi';
import { createKpiQueries } from '../kpi/queries';
import { reclaimCustomers } from '../services/reclaim';
import type { ActivityDeps } from './deps';
import { notifyStaffOnce, type NoticeStatus } from './notifications';

export interface StoreDigestInput {
  storeId: string;
  /** when the digest runs (the workflow's clock): "yesterday" is the day before, in the store's zone */
  asOf: string;
}

/** What was sent to whom: counts only (the mails name staff, and stay out of workflow histories). */
export interface StoreDigestResult {
  day: string;
  recipients: number;
  /** notices by status, the digest and the alerts together */
  notices: Partial<Record<NoticeStatus, number>>;
  /** KPIs below the store's threshold */
  alerts: string[];
}

const MANAGER_ROLES = ['manager', 'general_manager'];

/** The daily digest's work: reclaim, then tell the managers. Nothing for a paused or unknown store. */
export function createDigestActivities(deps: Pick<ActivityDeps, 'db' | 'email' | 'logger'>) {
  const { db, logger } = deps;
  const kpis = createKpiQueries(db);
  const activeStore = (storeId: string) => db.store.findFirst({ where: { id: storeId, paused: false } });

  /** Tasks with their holder's name, oldest due first. */
  async function tasks(where: object): Promise<{ count: number; rows: DigestTask[] }> {
    const [count, rows] = await Promise.all([
      db.followUp.count({ where }),
      db.followUp.findMany({ where, orderBy: [{ dueEnd: 'asc' }, { id: 'asc' }], take: DIGEST_LIST_LIMIT, include: { assignee: { select: { name: true } } } }),
    ]);
    return { count, rows: rows.map((f) => ({ taskId: f.id, stepKey: f.stepKey, staffName: f.assignee?.name ?? null, dueEnd: f.dueEnd, completedAt: f.completedAt })) };
  }

  return {
    /** Seed 001: customers nobody contacted while a call was due go to another consultant (src/services/reclaim.ts). */
    async reclaimStoreCustomers(input: StoreDigestInput): Promise<{ reclaimed: number }> {
      if (!(await activeStore(input.storeId))) return { reclaimed: 0 };
      const done = await reclaimCustomers(db, input.storeId, new Date(input.asOf));
      if (done.length) logger.info({ storeId: input.storeId, reclaimed: done.length }, 'customers reclaimed');
      return { reclaimed: done.length };
    },

    /**
     * The digest to each of the store's managers, and an alert per KPI below the store's threshold
     * (once a month: the notice's key is the month's). A retry sends only what was not sent.
     */
    async sendStoreDigest(input: StoreDigestInput): Promise<StoreDigestResult | null> {
      const store = await activeStore(input.storeId);
      if (!store) return null;
      const asOf = new Date(input.asOf);
      const { day, from, to, monthFrom, month } = digestDay(asOf, store.timeZone);
      const storeId = store.id;
      const calls = { storeId, kind: 'call' };

      const yesterday = { gte: from, lt: to };
      const [managers, missedIds, late, overdue, openCases, overdueCaseCount, overdueCases, casesOpened, resolvedCount, resolved, replacementPending, reclaims, thresholds, now, before] = await Promise.all([
        db.staff.findMany({ where: { storeId, role: { in: MANAGER_ROLES }, active: true }, select: { id: true }, orderBy: { createdAt: 'asc' } }),
        // Calls become missed two days after their window (DOMAIN.md section 2): the audit log says which did yesterday.
        db.auditLog.findMany({ where: { storeId, action: 'task.missed', at: { gte: from, lt: to } }, select: { entityId: true } }),
        tasks({ ...calls, status: 'done_late', completedAt: { gte: from, lt: to } }),
        tasks({ ...calls, status: 'open', dueEnd: { lte: asOf } }),
        db.escalationCase.count({ where: { storeId, status: 'open' } }),
        db.escalationCase.count({ where: { storeId, status: 'open', dueAt: { lt: asOf } } }),
        db.escalationCase.findMany({
          where: { storeId, status: 'open', dueAt: { lt: asOf } }, orderBy: [{ dueAt: 'asc' }, { id: 'asc' }], take: DIGEST_LIST_LIMIT,
          include: { assignee: { select: { name: true } } },
        }),
        db.escalationCase.count({ where: { storeId, createdAt: yesterday } }),
        db.escalationCase.count({ where: { storeId, resolvedAt: yesterday } }),
        db.escalationCase.findMany({
          where: { storeId, resolvedAt: yesterday }, orderBy: [{ resolvedAt: 'asc' }, { id: 'asc' }], take: DIGEST_LIST_LIMIT,
          include: { assignee: { select: { name: true } } },
        }),
        db.replacementCandidate.count({ where: { storeId, status: 'pending' } }),
        db.auditLog.findMany({ where: { storeId, action: 'customer.reclaim', at: { gte: from } }, orderBy: { id: 'asc' } }),
        db.kpiThreshold.findMany({ where: { storeId } }),
        // The month's KPIs with yesterday, and as they stood before it.
        kpis.tallies({ storeId, from: monthFrom, to, asOf }).then(kpiValues),
        kpis.tallies({ storeId, from: monthFrom, to: from, asOf: from }).then(kpiValues),
      ]);
      const missed = await tasks({ id: { in: missedIds.map((r) => r.entityId) }, status: 'missed' });
      const names = new Map((await db.staff.findMany({
        where: { id: { in: reclaims.flatMap((r) => [r.before, r.after].map((v) => (v as { consultantId?: string } | null)?.consultantId ?? '')).filter(Boolean) } },
        select: { id: true, name: true },
      })).map((s) => [s.id, s.name]));
      const caseRow = (c: (typeof resolved)[number]) => ({ caseId: c.id, reason: c.reason, level: c.level, ownerName: c.assignee?.name ?? null, dueAt: c.dueAt, rootCause: c.rootCause });
      const consultantOf = (v: unknown) => names.get((v as { consultantId?: string } | null)?.consultantId ?? '') ?? null;

      const digest = digestMail({
        storeName: store.name, timeZone: store.timeZone, day, missed, late, overdue, openCases,
        overdueCases: { count: overdueCaseCount, rows: overdueCases.map(caseRow) },
        casesOpened,
        casesResolved: { count: resolvedCount, rows: resolved.map(caseRow) },
        replacementPending,
        kpis: DIGEST_KPIS.map((key) => {
          const n = now.find((k) => k.key === key)!;
          return { key, label: n.label, now: n.rate, before: before.find((k) => k.key === key)!.rate };
        }),
        reclaims: reclaims.map((r) => ({ customerId: r.entityId, fromName: consultantOf(r.before), toName: consultantOf(r.after), reason: r.reason ?? '' })),
      });

      const breaches = thresholdBreaches(now, thresholds, month);
      // The first reading below the floor is kept: the alert's record, whatever the rate does later in the month.
      await db.thresholdAlert.createMany({ data: breaches.map((b) => ({ storeId, kpi: b.kpi, period: b.month, value: b.value, minimum: b.minimum })), skipDuplicates: true });
      const mails = [
        { key: `digest:${storeId}:${day}`, ...digest },
        ...breaches.map((b) => ({ key: `threshold:${storeId}:${b.kpi}:${b.month}`, ...thresholdMail(store.name, b) })),
      ];
      const notices: StoreDigestResult['notices'] = {};
      for (const mail of mails) {
        for (const { id: staffId } of managers) {
          const status = await notifyStaffOnce(deps, { staffId, idempotencyKey: `${mail.key}:${staffId}`, subject: mail.subject, body: mail.body });
          notices[status] = (notices[status] ?? 0) + 1;
        }
      }
      return { day, recipients: managers.length, notices, alerts: breaches.map((b) => b.kpi) };
    },
  };
}

export type DigestActivities = ReturnType<typeof createDigestActivities>;
