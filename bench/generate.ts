/**
 * Seeded bulk data for the KPI and inbox benchmarks, written straight to PostgreSQL with
 * multi-row INSERTs (`INSERT ... SELECT * FROM unnest($1::type[], ...)`, thousands of rows per
 * statement), not through the workflows. The same seed gives the same rows.
 *
 * Shape, as the product writes it: stores (created with their default plan), staff per store
 * (consultants, a supervisor, CR specialists, a manager, a general manager), and per delivery a
 * customer, a vehicle and its four call follow-ups of the default plan (day 2, days 4-6, day 7 the
 * survey, days 8-10), assigned as openFollowUp assigns them. Names and numbers are made up.
 *
 *   history: deliveries of a past period whose follow-ups are all closed (done on time or late,
 *            missed, failed, a few cancelled), with answers (satisfied, CSAT, NPS, promises kept)
 *   open:    follow-ups still open, due from a week ago to two weeks ahead (the inboxes)
 */
import { Client } from 'pg';
import { DEFAULT_PLAN } from '../src/domain/plan';
import { log, rng, uuidFrom, vinFor } from './lib';

export interface GenerateOptions {
  seed: number;
  stores: number;
  staffPerStore: number;
  /** closed follow-ups to write (4 per delivery), due in [historyFrom, historyTo) */
  historyFollowUps: number;
  historyFrom: Date;
  historyTo: Date;
  /** open follow-ups to write (4 per delivery), due around `now` */
  openFollowUps: number;
  now: Date;
}

export interface Generated {
  storeIds: string[];
  /** staff IDs by store */
  staff: Map<string, { id: string; role: string }[]>;
  deliveries: number;
  followUps: number;
  seconds: number;
}

const DAY = 24 * 3600_000;
const HOUR = 3600_000;
/** Store time is UTC+8 (Asia/Shanghai, no DST): a local day starts at 16:00 UTC the day before. */
const TZ_OFFSET = 8 * HOUR;
/** Window 09:00-20:00 local. */
const WINDOW_OPEN = 9 * HOUR;
const WINDOW_CLOSE = 20 * HOUR;

const ROLES_PER_STORE = (n: number): string[] => {
  const fixed = ['supervisor', 'cr_specialist', 'cr_specialist', 'manager', 'general_manager'];
  return [...fixed, ...Array.from({ length: Math.max(1, n - fixed.length) }, () => 'consultant')].slice(0, Math.max(n, 6));
};

const CALL_STEPS = DEFAULT_PLAN.steps.flatMap((s) => (s.kind === 'call' ? [s] : []));

export const storeIdOf = (i: number) => `s${String(i + 1).padStart(2, '0')}`;

function localMidnight(at: number): number {
  return Math.floor((at + TZ_OFFSET) / DAY) * DAY - TZ_OFFSET;
}

type Columns = Record<string, { type: string; values: unknown[] }>;

async function insert(pg: Client, table: string, columns: Columns): Promise<void> {
  const names = Object.keys(columns);
  const n = columns[names[0]].values.length;
  if (n === 0) return;
  const sql = `INSERT INTO "${table}" (${names.map((c) => `"${c}"`).join(', ')}) SELECT * FROM unnest(${names.map((c, i) => `$${i + 1}::${columns[c].type}[]`).join(', ')})`;
  await pg.query(sql, names.map((c) => columns[c].values));
}

function columns(spec: Record<string, string>): Columns {
  return Object.fromEntries(Object.entries(spec).map(([k, type]) => [k, { type, values: [] as unknown[] }]));
}

export async function generate(databaseUrl: string, opts: GenerateOptions): Promise<Generated> {
  const started = Date.now();
  const random = rng(opts.seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)];
  const chance = (p: number) => random() < p;
  const pg = new Client({ connectionString: databaseUrl });
  await pg.connect();
  try {
    await pg.query('SET synchronous_commit = off');
    const storeIds = Array.from({ length: opts.stores }, (_, i) => storeIdOf(i));
    const plans = new Map<string, string>();
    const staff = new Map<string, { id: string; role: string }[]>();
    const now = new Date();
    {
      const s = columns({ id: 'text', name: 'text', timeZone: 'text', serviceHotline: 'text' });
      const p = columns({ id: 'uuid', storeId: 'text', version: 'int', steps: 'jsonb', createdBy: 'text' });
      const st = columns({ id: 'uuid', storeId: 'text', externalId: 'text', name: 'text', role: 'text', phone: 'text', active: 'bool', updatedAt: 'timestamptz' });
      for (const storeId of storeIds) {
        s.id.values.push(storeId); s.name.values.push(`门店 ${storeId}`); s.timeZone.values.push('Asia/Shanghai'); s.serviceHotline.values.push('400-800-8888');
        const planId = uuidFrom(random);
        plans.set(storeId, planId);
        p.id.values.push(planId); p.storeId.values.push(storeId); p.version.values.push(1); p.steps.values.push(JSON.stringify(DEFAULT_PLAN.steps)); p.createdBy.values.push('bench');
        const people = ROLES_PER_STORE(opts.staffPerStore).map((role, k) => ({ id: uuidFrom(random), role, k }));
        staff.set(storeId, people.map(({ id, role }) => ({ id, role })));
        for (const person of people) {
          st.id.values.push(person.id); st.storeId.values.push(storeId); st.externalId.values.push(`S-${person.k}`); st.name.values.push(`员工${storeId}-${person.k}`);
          st.role.values.push(person.role); st.phone.values.push(`+86139${String(storeIds.indexOf(storeId) * 100 + person.k).padStart(8, '0')}`); st.active.values.push(true); st.updatedAt.values.push(now);
        }
      }
      await insert(pg, 'Store', s);
      await insert(pg, 'ContactPlan', p);
      await insert(pg, 'Staff', st);
    }

    const checklists = new Map(CALL_STEPS.map((s) => [s.key, JSON.stringify(s.checklist)]));
    let serial = 0;
    let deliveries = 0;
    let followUps = 0;

    /** Writes `count` deliveries with their four follow-ups; `open` decides open or closed rows. */
    const writeDeliveries = async (count: number, deliveredAtOf: () => number, open: boolean) => {
      const BATCH = 5000;
      for (let done = 0; done < count; done += BATCH) {
        const cu = columns({ id: 'uuid', storeId: 'text', externalId: 'text', name: 'text', phone: 'text', updatedAt: 'timestamptz' });
        const ve = columns({ id: 'uuid', storeId: 'text', vin: 'text', model: 'text' });
        const de = columns({ id: 'uuid', storeId: 'text', vehicleId: 'uuid', customerId: 'uuid', consultantId: 'uuid', deliveredAt: 'timestamptz', workflowId: 'text', workflowStartedAt: 'timestamptz', planId: 'uuid', status: 'text' });
        const fu = columns({
          id: 'uuid', storeId: 'text', deliveryId: 'uuid', stepKey: 'text', kind: 'text', role: 'text', channel: 'text', assigneeId: 'uuid',
          completedById: 'uuid', dueStart: 'timestamptz', dueEnd: 'timestamptz', status: 'text', survey: 'bool', mandatory: 'bool', checklist: 'jsonb',
          attempts: 'int', maxAttempts: 'int', completedAt: 'timestamptz', reached: 'bool', satisfied: 'bool', csat: 'int', nps: 'int',
          promisesKept: 'bool', updatedAt: 'timestamptz',
        });
        for (let k = 0; k < Math.min(BATCH, count - done); k++) {
          const storeId = pick(storeIds);
          const people = staff.get(storeId)!;
          const holders = (role: string) => people.filter((p) => p.role === role);
          const consultant = pick(holders('consultant'));
          const deliveredAt = deliveredAtOf();
          const n = serial++;
          const customerId = uuidFrom(random);
          const vehicleId = uuidFrom(random);
          const deliveryId = uuidFrom(random);
          const vin = vinFor(n);
          cu.id.values.push(customerId); cu.storeId.values.push(storeId); cu.externalId.values.push(`C-${n}`); cu.name.values.push(`客户${n}`);
          cu.phone.values.push(`+86138${String(n).padStart(8, '0')}`); cu.updatedAt.values.push(now);
          ve.id.values.push(vehicleId); ve.storeId.values.push(storeId); ve.vin.values.push(vin); ve.model.values.push(pick(['帕萨特', '途观L', '朗逸', 'ID.4']));
          de.id.values.push(deliveryId); de.storeId.values.push(storeId); de.vehicleId.values.push(vehicleId); de.customerId.values.push(customerId);
          de.consultantId.values.push(consultant.id); de.deliveredAt.values.push(new Date(deliveredAt)); de.workflowId.values.push(`vehicle-${storeId}-${vin}`);
          // Marked started: a row whose start is pending is one the API's reconciler would start a workflow for.
          de.workflowStartedAt.values.push(new Date(deliveredAt));
          de.planId.values.push(plans.get(storeId)); de.status.values.push(open ? 'active' : pick(['active', 'active', 'active', 'ended']));
          deliveries++;
          const day0 = localMidnight(deliveredAt);
          const unhappy = chance(0.08);
          for (const step of CALL_STEPS) {
            const dueStart = day0 + step.timing.fromDay * DAY + WINDOW_OPEN;
            const dueEnd = day0 + step.timing.toDay * DAY + WINDOW_CLOSE;
            const assignee = step.role === 'consultant' ? consultant : pick(holders(step.role));
            let status = 'open';
            let completedAt: number | null = null;
            let attempts: number;
            if (!open) {
              const r = random();
              status = r < 0.74 ? 'done_on_time' : r < 0.84 ? 'done_late' : r < 0.92 ? 'missed' : r < 0.97 ? 'failed' : 'cancelled';
              attempts = status === 'failed' ? 3 : status === 'missed' || status === 'cancelled' ? 0 : 1 + Math.floor(random() * 2);
              if (status === 'done_on_time') completedAt = dueStart + Math.floor(random() * (dueEnd - dueStart));
              if (status === 'done_late') completedAt = dueEnd + Math.floor(random() * 2 * DAY);
              if (status === 'failed') completedAt = dueEnd - HOUR;
            } else {
              attempts = chance(0.2) ? 1 : 0;
            }
            const done = status === 'done_on_time' || status === 'done_late';
            const survey = step.survey === true;
            fu.id.values.push(uuidFrom(random)); fu.storeId.values.push(storeId); fu.deliveryId.values.push(deliveryId); fu.stepKey.values.push(step.key);
            fu.kind.values.push('call'); fu.role.values.push(step.role); fu.channel.values.push('phone'); fu.assigneeId.values.push(assignee.id);
            fu.completedById.values.push(done ? assignee.id : null); fu.dueStart.values.push(new Date(dueStart)); fu.dueEnd.values.push(new Date(dueEnd));
            fu.status.values.push(status); fu.survey.values.push(survey); fu.mandatory.values.push(false); fu.checklist.values.push(checklists.get(step.key));
            fu.attempts.values.push(attempts); fu.maxAttempts.values.push(step.attempts.max);
            fu.completedAt.values.push(completedAt === null ? null : new Date(completedAt));
            fu.reached.values.push(done ? true : status === 'failed' ? false : null);
            fu.satisfied.values.push(done ? !(unhappy && chance(0.7)) : null);
            fu.csat.values.push(done && survey ? (unhappy ? 1 + Math.floor(random() * 3) : 4 + Math.floor(random() * 2)) : null);
            fu.nps.values.push(done && survey ? (unhappy ? Math.floor(random() * 7) : 6 + Math.floor(random() * 5)) : null);
            fu.promisesKept.values.push(done && (step.role === 'supervisor' || step.role === 'manager') ? !(unhappy && chance(0.5)) : null);
            fu.updatedAt.values.push(now);
            followUps++;
          }
        }
        await insert(pg, 'Customer', cu);
        await insert(pg, 'Vehicle', ve);
        await insert(pg, 'Delivery', de);
        await insert(pg, 'FollowUp', fu);
      }
    };

    const historyDeliveries = Math.round(opts.historyFollowUps / CALL_STEPS.length);
    const span = opts.historyTo.getTime() - opts.historyFrom.getTime();
    // Deliveries start up to 10 days before the period so that their follow-ups fall in it.
    await writeDeliveries(historyDeliveries, () => opts.historyFrom.getTime() - 10 * DAY + Math.floor(random() * (span + 8 * DAY)), false);
    if (historyDeliveries) log(`generate: ${deliveries} closed deliveries, ${followUps} follow-ups`);
    const openDeliveries = Math.round(opts.openFollowUps / CALL_STEPS.length);
    // Open tasks due from a week ago to two weeks ahead: deliveries of the last 17 days.
    await writeDeliveries(openDeliveries, () => opts.now.getTime() - 17 * DAY + Math.floor(random() * 12 * DAY), true);
    // As a database in service is: vacuumed and checkpointed. Otherwise autovacuum's pass over the
    // million new rows, and the checkpoint of their WAL, run inside the measured seconds.
    await pg.query('VACUUM (ANALYZE)');
    await pg.query('CHECKPOINT');
    const seconds = (Date.now() - started) / 1000;
    log(`generate: ${deliveries} deliveries, ${followUps} follow-ups over ${storeIds.length} stores in ${seconds.toFixed(1)} s`);
    return { storeIds, staff, deliveries, followUps, seconds };
  } finally {
    await pg.end();
  }
}
