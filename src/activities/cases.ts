/**
 * The case workflow's I/O: its deadlines from the store's working calendar, every change to its
 * row with the timeline entry that records it (and the audit row), the ladder's next owner, and
 * the owner's notification. Each write is keyed by the workflow (an event key per timeline entry,
 * an idempotency key per notification), so a retried activity changes and sends nothing twice.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ApplicationFailure } from '@temporalio/common';
import { CaseActor, CaseLevel, CaseState, DEFAULT_CASE_POLICY, LADDER_ROLE, actorLabel } from '../domain/cases';
import { ErrorType } from '../domain/errors';
import { addWorkingMinutes, CHINA_CALENDARS, DEFAULT_OPENING_HOURS, OpeningHoursSchema, WorkingCalendar, YearCalendar, YearCalendarSchema } from '../domain/working-hours';
import { type EscalationCase, Prisma } from '../generated/prisma/client';
import { paceBookedAhead, type SendPace } from '../messaging/pace';
import { PermanentSendError } from '../messaging/transports';
import { recordAudit } from '../services/audit';
import { fairAssignee, withAssignment } from '../services/assignment';
import type { Db } from '../db/client';
import type { ActivityDeps } from './deps';

type Tx = Prisma.TransactionClient;

export type CaseEventKind = 'opened' | 'acknowledged' | 'note' | 'reassigned' | 'escalated' | 'overdue' | 'resolved' | 'reopened' | 'closed';

/** Row fields a case event may change (instants as ISO strings; null clears). */
export interface CaseChange {
  status?: CaseState['status'];
  level?: CaseLevel;
  assigneeId?: string | null;
  acknowledgedAt?: string | null;
  respondBy?: string;
  resolveBy?: string;
  dueAt?: string | null;
  rootCause?: string | null;
  confirmedVia?: string | null;
  confirmedAt?: string | null;
  resolution?: string | null;
  resolvedAt?: string | null;
  closedAt?: string | null;
}

export interface CaseEventInput {
  caseId: string;
  /** `<caseId>:<n>`: the workflow's count of its timeline entries. */
  eventKey: string;
  kind: CaseEventKind;
  actor: CaseActor;
  at: string;
  detail?: string | null;
  change?: CaseChange;
}

const DATE_FIELDS = new Set(['acknowledgedAt', 'respondBy', 'resolveBy', 'dueAt', 'confirmedAt', 'resolvedAt', 'closedAt']);

function rowData(change: CaseChange): Prisma.EscalationCaseUncheckedUpdateInput {
  return Object.fromEntries(Object.entries(change).map(([k, v]) => [k, DATE_FIELDS.has(k) && typeof v === 'string' ? new Date(v) : v]));
}

/** The store's working calendar and deadlines: its own policy and calendars where it has them, else the defaults. */
export async function casePolicyOf(db: Db | Tx, storeId: string, years: number[]) {
  const [store, policy, own] = await Promise.all([
    db.store.findUniqueOrThrow({ where: { id: storeId }, select: { timeZone: true } }),
    db.casePolicy.findUnique({ where: { storeId } }),
    db.storeCalendar.findMany({ where: { storeId, year: { in: years } } }),
  ]);
  const calendars: Record<number, YearCalendar> = {};
  for (const year of years) {
    const mine = own.find((c) => c.year === year);
    const parsed = mine && YearCalendarSchema(year).safeParse({ holidays: mine.holidays, workdays: mine.workdays });
    const chosen = parsed?.success ? parsed.data : CHINA_CALENDARS[year];
    if (chosen) calendars[year] = chosen;
  }
  const hours = OpeningHoursSchema.safeParse(policy?.openingHours);
  const calendar: WorkingCalendar = { timeZone: store.timeZone, openingHours: hours.success ? hours.data : DEFAULT_OPENING_HOURS, years: calendars };
  return {
    calendar,
    firstResponseMinutes: policy?.firstResponseMinutes ?? DEFAULT_CASE_POLICY.firstResponseMinutes,
    resolutionMinutes: policy?.resolutionMinutes ?? DEFAULT_CASE_POLICY.resolutionMinutes,
    smsFromLevel: policy ? policy.smsFromLevel : DEFAULT_CASE_POLICY.smsFromLevel,
  };
}

/** A deadline never runs more than a couple of years: the calendars of that year and the next two cover it. */
const yearsFrom = (at: Date) => [at.getUTCFullYear() - 1, at.getUTCFullYear(), at.getUTCFullYear() + 1, at.getUTCFullYear() + 2];

/** Who gets told what about a case: text only staff read (the case's ID, reason, rung and deadline). */
function notificationText(c: { id: string; reason: string; level: number; dueAt: Date | null }, channel: 'email' | 'sms') {
  const rung = ['', 'CR 专员', '销售经理', '总经理'][c.level];
  const due = c.dueAt ? `，期限 ${c.dueAt.toISOString()}` : '';
  const body = `回访升级案件 ${c.id.slice(0, 8)}（${c.reason}）已转给您（第 ${c.level} 级：${rung}）${due}。请登录回访系统处理。`;
  return channel === 'email' ? { subject: `[回访] 案件 ${c.id.slice(0, 8)} 需要您处理`, body } : { body };
}

export function createCaseActivities(deps: Pick<ActivityDeps, 'db' | 'logger' | 'sms' | 'email' | 'publicBaseUrl' | 'smsPace'>) {
  const { db, logger } = deps;

  /**
   * Writes the change and its timeline entry (and audit row) in `tx`, once per event key; false when
   * already written. A caller that has checked the key and read the row in `tx` passes the row.
   */
  async function writeEvent(tx: Tx, e: CaseEventInput, checked?: EscalationCase): Promise<boolean> {
    if (!checked && await tx.caseEvent.findUnique({ where: { eventKey: e.eventKey }, select: { id: true } })) return false;
    const before = checked ?? await tx.escalationCase.findUniqueOrThrow({ where: { id: e.caseId } });
    const change = e.change ?? {};
    const after = Object.keys(change).length ? await tx.escalationCase.update({ where: { id: e.caseId }, data: rowData(change) }) : before;
    await tx.caseEvent.create({
      data: {
        caseId: e.caseId, eventKey: e.eventKey, kind: e.kind, actor: actorLabel(e.actor), at: new Date(e.at), detail: e.detail ?? null,
        fromAssigneeId: 'assigneeId' in change ? before.assigneeId : null,
        toAssigneeId: 'assigneeId' in change ? (change.assigneeId ?? null) : null,
        level: after.level,
      },
    });
    const changed = Object.keys(change) as (keyof CaseChange)[];
    await recordAudit(tx, {
      actor: e.actor, action: `case.${e.kind}`, entity: 'case', entityId: e.caseId, storeId: before.storeId,
      before: Object.fromEntries(changed.map((k) => [k, before[k]])), after: Object.fromEntries(changed.map((k) => [k, after[k]])),
      ...(e.detail && { reason: e.detail }),
    });
    return true;
  }

  return {
    /**
     * The case's first step: its deadlines, counted in the store's working hours from the moment
     * it was opened, and the "opened" entry of its timeline. Answers the same on a retry.
     */
    async beginCase(input: { caseId: string; eventKey: string }): Promise<Omit<CaseState, 'passed' | 'events'>> {
      const c = await db.escalationCase.findUnique({ where: { id: input.caseId } });
      if (!c) throw ApplicationFailure.nonRetryable(`case ${input.caseId} not found`, ErrorType.RecordNotFound);
      let { respondBy, resolveBy } = c;
      if (!respondBy || !resolveBy) {
        const policy = await casePolicyOf(db, c.storeId, yearsFrom(c.createdAt));
        respondBy = addWorkingMinutes(c.createdAt, policy.firstResponseMinutes, policy.calendar);
        resolveBy = addWorkingMinutes(c.createdAt, policy.resolutionMinutes, policy.calendar);
        const deadlines = { respondBy: respondBy.toISOString(), resolveBy: resolveBy.toISOString() };
        await db.$transaction((tx) => writeEvent(tx, {
          caseId: c.id, eventKey: input.eventKey, kind: 'opened', actor: c.openedBy === 'system' ? 'system' : parseActor(c.openedBy),
          at: c.createdAt.toISOString(), detail: c.detail, change: { ...deadlines, dueAt: deadlines.respondBy },
        }));
      }
      return {
        caseId: c.id, storeId: c.storeId, status: c.status as CaseState['status'], level: c.level as CaseLevel, assigneeId: c.assigneeId,
        acknowledgedAt: c.acknowledgedAt?.toISOString() ?? null, respondBy: respondBy.toISOString(), resolveBy: resolveBy.toISOString(),
        resolvedAt: c.resolvedAt?.toISOString() ?? null,
      };
    },

    /** Fresh deadlines from `from` (a reopening), in the store's working hours. */
    async caseDeadlines(input: { storeId: string; from: string }): Promise<{ respondBy: string; resolveBy: string }> {
      const from = new Date(input.from);
      const policy = await casePolicyOf(db, input.storeId, yearsFrom(from));
      return {
        respondBy: addWorkingMinutes(from, policy.firstResponseMinutes, policy.calendar).toISOString(),
        resolveBy: addWorkingMinutes(from, policy.resolutionMinutes, policy.calendar).toISOString(),
      };
    },

    /** One step of the case: its row's change and its timeline entry, together and once. */
    async recordCaseEvent(input: CaseEventInput): Promise<void> {
      await db.$transaction((tx) => writeEvent(tx, input));
    },

    /** A new owner by hand: an active staff member of the case's store. */
    async assignCase(input: CaseEventInput & { assigneeId: string }): Promise<{ assigneeId: string }> {
      await db.$transaction(async (tx) => {
        const c = await tx.escalationCase.findUniqueOrThrow({ where: { id: input.caseId }, select: { storeId: true } });
        const target = await tx.staff.findUnique({ where: { id: input.assigneeId }, select: { storeId: true, active: true } });
        if (!target || !target.active || target.storeId !== c.storeId) {
          throw ApplicationFailure.nonRetryable('assigneeId: not an active staff member of the case\'s store', 'InvalidRequest');
        }
        await writeEvent(tx, { ...input, change: { ...input.change, assigneeId: input.assigneeId } });
      });
      return { assigneeId: input.assigneeId };
    },

    /**
     * A deadline passed: the case climbs to `level` and goes to that rung's holder at the store by
     * the fair rule (kept with its owner when nobody holds the role). Answers the same on a retry.
     */
    async escalateCase(input: CaseEventInput & { level: CaseLevel }): Promise<{ assigneeId: string | null }> {
      return withAssignment(db, async (tx) => {
        const done = await tx.caseEvent.findUnique({ where: { eventKey: input.eventKey }, select: { toAssigneeId: true } });
        if (done) return { assigneeId: done.toAssigneeId };
        const c = await tx.escalationCase.findUniqueOrThrow({ where: { id: input.caseId } });
        const next = await fairAssignee(tx, c.storeId, LADDER_ROLE[input.level]);
        if (!next) logger.warn({ caseId: input.caseId, storeId: c.storeId, level: input.level }, 'nobody holds this rung of the ladder: the case stays with its owner');
        const assigneeId = next ?? c.assigneeId;
        await writeEvent(tx, { ...input, change: { ...input.change, level: input.level, assigneeId } }, c);
        return { assigneeId };
      });
    },

    /**
     * Tells a case's new owner: email, and SMS from the policy's level on. A staff notification,
     * not a customer message: no consent or quiet hours, but each one is written before it is sent
     * and never sent twice (an unfinished SMS attempt is first looked up at the provider).
     */
    async notifyCaseOwner(input: { caseId: string; staffId: string; idempotencyKey: string }): Promise<{ sent: string[] }> {
      // The case, the person and the store's policy in one statement: a morning's climbs each read them.
      const [c] = await db.$queryRaw<{ id: string; reason: string; level: number; dueAt: Date | null; email: string | null; phone: string | null; policy: { smsFromLevel: number | null } | null }[]>`
        SELECT c.id::text AS id, c.reason, c.level, c."dueAt", s.email, s.phone,
               CASE WHEN p."storeId" IS NULL THEN NULL ELSE json_build_object('smsFromLevel', p."smsFromLevel") END AS policy
        FROM "EscalationCase" c JOIN "Staff" s ON s.id = ${input.staffId}::uuid LEFT JOIN "CasePolicy" p ON p."storeId" = c."storeId"
        WHERE c.id = ${input.caseId}::uuid`;
      if (!c) throw new Error(`case ${input.caseId} or staff member ${input.staffId} not found`);
      const smsFromLevel = c.policy ? c.policy.smsFromLevel : DEFAULT_CASE_POLICY.smsFromLevel;
      const channels = [
        { channel: 'email' as const, to: c.email, transport: deps.email },
        ...(smsFromLevel !== null && c.level >= smsFromLevel ? [{ channel: 'sms' as const, to: c.phone, transport: deps.sms }] : []),
      ];
      const sent: string[] = [];
      for (const { channel, to, transport } of channels) {
        const idempotencyKey = `${input.idempotencyKey}:${channel}`;
        const earlierAttempt = await db.staffNotification.findUnique({ where: { idempotencyKey } });
        if (earlierAttempt && earlierAttempt.status !== 'sending') continue;
        if (!to) {
          await db.staffNotification.upsert({ where: { idempotencyKey }, update: {}, create: { idempotencyKey, staffId: input.staffId, caseId: c.id, channel, status: 'skipped' } });
          continue;
        }
        const text = notificationText(c, channel);
        // An attempt that did not finish may have reached the provider: adopt it rather than send again.
        const earlier = earlierAttempt && transport.findSent ? await transport.findSent({ to, body: text.body, since: earlierAttempt.createdAt }) : [];
        // A staff SMS takes its slot in the provider's pace as a customer's does: a morning's climbs
        // go out with the morning's reminders, not past the provider's rate. Taken before the row is
        // written, so a pace booked ahead leaves nothing to look up at the provider on the retry.
        if (channel === 'sms' && !earlier[0]) await takePaceSlot(deps.smsPace, text.body);
        if (!earlierAttempt) await db.staffNotification.upsert({ where: { idempotencyKey }, update: {}, create: { idempotencyKey, staffId: input.staffId, caseId: c.id, channel } });
        try {
          const providerId = earlier[0]?.providerId ?? (await transport.send({
            to, ...text, idempotencyKey, purpose: 'service', customerId: input.staffId,
            statusCallbackUrl: `${deps.publicBaseUrl}/v1/webhooks/twilio/status`,
          })).providerId;
          await db.staffNotification.update({ where: { idempotencyKey }, data: { status: 'sent', providerId, sentAt: new Date() } });
          sent.push(channel);
        } catch (err) {
          if (!(err instanceof PermanentSendError)) throw err;
          // A wrong address of a staff member: the case stays with them; the desk's list shows it.
          await db.staffNotification.update({ where: { idempotencyKey }, data: { status: 'failed' } });
          logger.warn({ caseId: c.id, staffId: input.staffId, channel, reason: err.reason }, 'staff notification refused for good');
        }
      }
      return { sent };
    },
  };
}

/** Waits for the send's slot in the provider's pace, or fails the attempt to retry when the pace is booked further ahead. */
async function takePaceSlot(pace: SendPace | undefined, body: string): Promise<void> {
  if (!pace) return;
  const slot = await pace.reserve(pace.cost(body), null);
  if (slot.status === 'booked') throw paceBookedAhead(slot.retryInMs);
  if (slot.status === 'slot') await sleep(slot.waitMs);
}

/** The opener of a case by hand, as the row records it ("api-key:<id>" or "staff:<id>"). */
function parseActor(label: string): CaseActor {
  const [kind, id] = label.split(':');
  return (kind === 'staff' || kind === 'api-key') && id ? { kind, id } : 'system';
}

export type CaseActivities = ReturnType<typeof createCaseActivities>;
