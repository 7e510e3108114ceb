import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DateTime } from 'luxon';
import { simpleParser } from 'mailparser';
import { vinCheckDigit } from '../../src/domain/vin';
import { digestScheduleId, STORE_DIGEST_WORKFLOW, type StoreDigestWorkflowInput } from '../../src/workflows/contract';
import type { Stack } from '../../src/stack';
import { api, eventually, seedStore, startTestStack } from '../helpers/stack';

/**
 * The CR desk end to end, over HTTP on the real stack: a dissatisfied answer on the day-7 survey
 * call becomes a case for the CR specialist; nobody answers it within its first-response deadline
 * (one working minute in this store, open round the clock), so it climbs to the sales manager, who
 * is told by email (in the mail sink); the manager takes it up and resolves it with the customer's
 * confirmation. Each step below builds on the one before: later steps (the manager audit, the
 * digest, the audit log) add their own `it` reading `desk`.
 */
jest.setTimeout(240_000);

const STORE = 'e2e-desk';
const ZONE = 'Asia/Shanghai';

interface CaseView {
  id: string; status: string; level: number; assigneeId: string | null; respondBy: string | null; resolveBy: string | null;
  acknowledgedAt: string | null; rootCause: string | null; confirmedVia: string | null;
  timeline: { kind: string; actor: string; fromAssigneeId: string | null; toAssigneeId: string | null; level: number | null; detail: string | null }[];
}

/** What the steps share: the stack, the store's staff by role, the case. */
const desk = {} as {
  stack: Stack;
  client: ReturnType<typeof api>;
  staff: Record<'consultant' | 'supervisor' | 'cr' | 'manager' | 'gm', string>;
  deliveryId: string;
  caseId: string;
};

/** The emails MailDev received, as raw messages (its mail directory; the web inbox is off in tests). */
function mailbox(): string[] {
  const dir = path.join(desk.stack.env.DATA_DIR!, 'mail');
  try {
    return readdirSync(dir).filter((f) => f.endsWith('.eml')).map((f) => readFileSync(path.join(dir, f), 'utf8'));
  } catch {
    return [];
  }
}

const caseView = async (): Promise<CaseView> => (await desk.client.get(`/v1/cases/${desk.caseId}`)).body;

describe('the CR desk', () => {
  beforeAll(async () => {
    desk.stack = await startTestStack();
    const { key } = await seedStore(desk.stack, STORE);
    desk.client = api(desk.stack, key);
    const people = [
      ['S-01', '李娜', 'consultant'], ['S-02', '赵强', 'supervisor'], ['S-03', '孙丽', 'cr_specialist'], ['S-04', '周伟', 'manager'], ['S-05', '吴敏', 'general_manager'],
    ] as const;
    const ids: Record<string, string> = {};
    for (const [externalId, name, role] of people) {
      const res = await desk.client.put(`/v1/stores/${STORE}/staff/${externalId}`, { name, role, email: `${externalId.toLowerCase()}@desk.example` });
      expect(res.status).toBe(200);
      ids[role] = res.body.id;
    }
    desk.staff = { consultant: ids.consultant, supervisor: ids.supervisor, cr: ids.cr_specialist, manager: ids.manager, gm: ids.general_manager };
    // A store answering round the clock with a one-minute first response, so the ladder moves within the test.
    const policy = await desk.client.put(`/v1/stores/${STORE}/case-policy`, {
      openingHours: Array(7).fill({ start: '00:00', end: '24:00' }), firstResponseMinutes: 1, resolutionMinutes: 120, smsFromLevel: 3,
    });
    expect(policy.status).toBe(200);
    const year = DateTime.now().setZone(ZONE).year;
    for (const y of [year, year + 1]) expect((await desk.client.put(`/v1/stores/${STORE}/calendar/${y}`, { holidays: [], workdays: [] })).status).toBe(200);

    // The DMS reports a car delivered eight days ago: the day-7 survey call is due now.
    const draft = 'LSVAU2180N2700002';
    const delivered = await desk.client.post('/v1/deliveries', {
      storeId: STORE,
      deliveredAt: DateTime.now().setZone(ZONE).startOf('day').minus({ days: 8 }).set({ hour: 10 }).toJSDate().toISOString(),
      customer: { externalId: 'C-8', name: '陈静', phone: '+8613700008888', contactWindow: { start: '00:00', end: '23:59' } },
      vehicle: { vin: draft.slice(0, 8) + vinCheckDigit(draft) + draft.slice(9), model: '途观L Tiguan L' },
      consultant: { externalId: 'S-01' },
    });
    expect(delivered.status).toBe(201);
    desk.deliveryId = delivered.body.id;
  });

  afterAll(async () => {
    await desk.stack?.stop();
  });

  it('a dissatisfied day-7 answer opens a case for the CR specialist, with working-hour deadlines', async () => {
    const survey = await eventually('the day-7 survey task', async () => {
      const { body } = await desk.client.get(`/v1/tasks?storeId=${STORE}&status=open`);
      return body.tasks.find((t: { stepKey: string }) => t.stepKey === 'cr-satisfaction-call-day-7') as { id: string } | undefined;
    });
    const answered = await desk.client.post(`/v1/tasks/${survey.id}/complete`,
      { reached: true, satisfied: false, csat: 2, nps: 4, complaint: '交车时承诺的脚垫未送，车窗有异响' }, { 'x-staff-id': desk.staff.cr });
    expect(answered.status).toBe(200);
    desk.caseId = answered.body.caseId;
    expect(desk.caseId).toEqual(expect.any(String));

    const opened = await eventually('the case with its deadlines', async () => {
      const c = await caseView();
      return c.respondBy ? c : undefined;
    });
    expect(opened).toMatchObject({ status: 'open', level: 1, assigneeId: desk.staff.cr });
    expect(Date.parse(opened.resolveBy!) - Date.parse(opened.respondBy!)).toBe(119 * 60_000);
    const list = (await desk.client.get(`/v1/cases?assigneeId=${desk.staff.cr}`)).body.cases;
    expect(list.map((c: { id: string }) => c.id)).toEqual([desk.caseId]);
  });

  it('unanswered past its first-response deadline, it climbs to the sales manager, who is told by email', async () => {
    const climbed = await eventually('the climb to the sales manager', async () => {
      const c = await caseView();
      return c.level === 2 ? c : undefined;
    }, 120_000);
    expect(climbed.assigneeId).toBe(desk.staff.manager);
    expect(climbed.timeline.map((e) => e.kind)).toEqual(['opened', 'escalated']);
    expect(climbed.timeline[1]).toMatchObject({ actor: 'system', fromAssigneeId: desk.staff.cr, toAssigneeId: desk.staff.manager, level: 2 });
    expect((await desk.client.get(`/v1/cases?level=2&overdue=true`)).body.cases.map((c: { id: string }) => c.id)).toEqual([desk.caseId]);
    const mail = await eventually('the email to the sales manager', async () => mailbox().find((m) => /^To: .*s-04@desk\.example/im.test(m)));
    expect(mail).toContain(desk.caseId.slice(0, 8));
    expect(mailbox().filter((m) => /^To: .*s-04@desk\.example/im.test(m))).toHaveLength(1);
  });

  it('the manager acknowledges and resolves it with the customer\'s confirmation and a root cause', async () => {
    const ack = await desk.client.post(`/v1/cases/${desk.caseId}/acknowledge`, { note: '已致电客户，约定明天上门' }, { 'idempotency-key': 'desk-ack-1' });
    expect(ack.status).toBe(200);
    const resolved = await desk.client.post(`/v1/cases/${desk.caseId}/resolve`, {
      rootCause: 'delivery-process', resolution: '补送脚垫，车窗异响已在售后检修', confirmation: { channel: 'phone', at: new Date().toISOString() },
    });
    expect(resolved.status).toBe(200);
    expect(resolved.body).toMatchObject({ status: 'resolved', level: 2, rootCause: 'delivery-process', confirmedVia: 'phone' });
    expect(resolved.body.timeline.map((e: { kind: string }) => e.kind)).toEqual(['opened', 'escalated', 'acknowledged', 'resolved']);
    expect((await desk.client.get(`/v1/cases?storeId=${STORE}`)).body.cases).toEqual([]);
  });
  /** The desk's period: the delivery's week up to tomorrow, in the store's zone. */
  const period = () => {
    const today = DateTime.now().setZone(ZONE).startOf('day');
    return `storeId=${STORE}&from=${today.minus({ days: 10 }).toISODate()}&to=${today.plus({ days: 1 }).toISODate()}`;
  };

  it('the manager audit shows the case answered late by its first owner and resolved, and the survey call behind it', async () => {
    const cases = (await desk.client.get(`/v1/audits/cases?${period()}&by=store`)).body;
    expect(cases.groups).toEqual([expect.objectContaining({ groupId: STORE, opened: 1, open: 0, respondedLate: 1, resolved: 1 })]);
    const late = (await desk.client.get(`/v1/audits/cases/rows?${period()}&figure=respondedLate`)).body;
    expect(late.items).toEqual([expect.objectContaining({ caseId: desk.caseId, level: 2, assigneeId: desk.staff.manager, status: 'resolved' })]);
    const calls = (await desk.client.get(`/v1/audits/follow-ups/rows?${period()}&by=staff&groupId=${desk.staff.cr}&figure=due`)).body;
    expect(calls.items).toContainEqual(expect.objectContaining({ deliveryId: desk.deliveryId, stepKey: 'cr-satisfaction-call-day-7', assigneeId: desk.staff.cr }));
  });

  it('the audit log shows the answer, the climb, the acknowledgement and the resolution, with who did each', async () => {
    const { entries } = (await desk.client.get(`/v1/audit?entity=case&entityId=${desk.caseId}`)).body;
    const actions = entries.map((e: { action: string }) => e.action).reverse();
    expect(actions).toEqual(expect.arrayContaining(['case.escalated', 'case.acknowledged', 'case.resolved']));
    expect(actions.indexOf('case.escalated')).toBeLessThan(actions.indexOf('case.resolved'));
    const climb = entries.find((e: { action: string }) => e.action === 'case.escalated');
    expect(climb).toMatchObject({ actor: { kind: 'system' }, before: { level: 1, assigneeId: desk.staff.cr }, after: { level: 2, assigneeId: desk.staff.manager } });
    const survey = (await desk.client.get(`/v1/audit?storeId=${STORE}&actorId=${desk.staff.cr}`)).body.entries;
    expect(survey).toContainEqual(expect.objectContaining({ action: 'task.outcome', actor: { kind: 'staff', id: desk.staff.cr }, after: expect.objectContaining({ satisfied: false, csat: 2 }) }));
  });

  it('the next morning\'s digest, in the mail sink, tells the managers the case was resolved and how satisfaction moved', async () => {
    // Settings create the store's schedule (the store was written straight to the database).
    expect((await desk.client.patch(`/v1/stores/${STORE}/settings`, { digestHour: 8 })).status).toBe(200);
    const connection = await Connection.connect({ address: desk.stack.env.TEMPORAL_ADDRESS! });
    try {
      const temporal = new Client({ connection });
      const schedule = await temporal.schedule.getHandle(digestScheduleId(STORE)).describe();
      expect(schedule.spec.timezone).toBe(ZONE);
      // Tomorrow's 08:00 run, started now: its "yesterday" is today.
      const tomorrow = DateTime.now().setZone(ZONE).startOf('day').plus({ days: 1, hours: 8 });
      const args: [StoreDigestWorkflowInput] = [{ storeId: STORE, asOf: tomorrow.toJSDate().toISOString() }];
      const result = await temporal.workflow.execute(STORE_DIGEST_WORKFLOW, {
        taskQueue: desk.stack.env.TEMPORAL_TASK_QUEUE ?? 'huifang', workflowId: `e2e-digest-${STORE}`, args,
      });
      expect(result).toMatchObject({ recipients: 2, notices: { sent: 2 } });
    } finally {
      await connection.close();
    }
    const today = DateTime.now().setZone(ZONE).toISODate()!;
    const digests = await eventually('the digest in the mail sink', async () => {
      const mails = await Promise.all(mailbox().map((raw) => simpleParser(raw)));
      const found = mails.filter((m) => m.subject?.includes(`[回访简报]`) && m.subject.includes(today));
      return found.length === 2 ? found : undefined;
    });
    expect(digests.map((m) => (Array.isArray(m.to) ? '' : m.to?.text)).sort()).toEqual(['s-04@desk.example', 's-05@desk.example']);
    const body = digests[0].text!;
    expect(body).toMatch(/Cases opened yesterday: 1/);
    expect(body).toMatch(new RegExp(`Cases resolved yesterday: 1\\n.*level 2 · 周伟 · 原因 root cause delivery-process · case ${desk.caseId}`));
    // The dissatisfied survey is the month's one completed call (unless its window closed last month).
    expect(body).toMatch(/售后跟踪客户满意率 Post-sale follow-up satisfaction: .* -> (0\.0%|-)/);
    expect(body).not.toContain('陈静');
  });
});
