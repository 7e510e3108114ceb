/**
 * Recording a delivery and starting its ownership workflow: the API's POST /v1/deliveries, and
 * the reconciler that starts what an outage left unstarted.
 *
 * A delivery is never half-written. Its rows commit with `workflowStartedAt` null (the intent to
 * start); the workflow starts after the commit on its business ID, and only then is the intent
 * marked done. If Temporal is down or slow the request answers 503, and whichever comes first
 * (the DMS posting the same delivery again, or the reconciler) starts it later. The start takes
 * the running workflow of that ID if there is one (USE_EXISTING), so starting twice is harmless.
 */
import { type Client, WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/client';
import { z } from 'zod';
import { badRequest, conflict, notFound, unavailableDependency } from '../api/errors';
import { ExternalIdSchema, StoreIdSchema } from '../api/params';
import type { Db } from '../db/client';
import { type Delivery, Prisma } from '../generated/prisma/client';
import { ContactWindowSchema, DEFAULT_CUSTOMER_WINDOW } from '../domain/contact-window';
import { boundedDateTime } from '../domain/dates';
import type { LifecycleInput, LifecycleState } from '../domain/lifecycle';
import type { VehicleFacts } from '../domain/years';
import { MobilePhoneSchema, PhoneSchema } from '../domain/phone';
import { ContactPlanSchema, type PlanStep } from '../domain/plan';
import { safeName, safeText } from '../domain/text';
import { VinSchema } from '../domain/vin';
import { VehicleFactsSchema, YearsPlanSchema } from '../domain/years-plan';
import { DELIVERY_ID_ATTRIBUTE, STORE_ID_ATTRIBUTE, workflowIdFor } from '../temporal/connection';
import { type AuditActor, recordAudit } from './audit';
import { startMissingCaseWorkflows } from './cases';
import { currentPlan } from './stores';

/** Clocks disagree a little: a DMS a few minutes ahead has not recorded a delivery in the future. */
const CLOCK_SKEW_MS = 5 * 60_000;
const DAY_MS = 24 * 60 * 60_000;

export const DeliveryInputSchema = z.strictObject({
  storeId: StoreIdSchema,
  deliveredAt: boundedDateTime().describe('not more than 5 minutes ahead of the server\'s clock, nor older than DELIVERY_MAX_AGE_DAYS (default 365 days)'),
  byAppointment: z.boolean().default(false),
  customer: z.strictObject({
    externalId: ExternalIdSchema,
    name: safeName(100),
    phone: MobilePhoneSchema,
    email: z.email().max(254).optional(),
    locale: z.enum(['zh-CN', 'en']).default('zh-CN'),
    contactWindow: ContactWindowSchema.optional(),
  }),
  vehicle: z.strictObject({
    vin: VinSchema,
    model: safeText(100),
    plate: safeText(20).optional(),
  }),
  consultant: z.strictObject({
    externalId: ExternalIdSchema,
    name: safeName(100).optional(),
    phone: PhoneSchema.optional(),
  }),
});
export type DeliveryInput = z.infer<typeof DeliveryInputSchema>;

export interface DeliveryDeps {
  db: Db;
  temporal: Client;
  taskQueue: string;
}

/** A delivery of the existing base (src/import): what the file told about the vehicle beyond the delivery. */
export interface ImportedFacts {
  vehicle: VehicleFacts;
}

export interface RecordedDelivery {
  id: string;
  storeId: string;
  created: boolean;
  /** The input of the workflow this call started (null when it was started before, or the ownership has ended). */
  started: LifecycleInput | null;
  /** The delivery row this call wrote, with its VIN and plan version (null when it was recorded before). */
  written: { delivery: Delivery; vin: string; planVersion: number } | null;
}

/** A new delivery must be recent: one in the future or years old is a typo, and would send its messages at the wrong time. */
function checkDeliveredAt(deliveredAt: Date, now: Date, maxAgeDays: number): void {
  if (deliveredAt.getTime() > now.getTime() + CLOCK_SKEW_MS) {
    throw badRequest('deliveredAt', `must not be in the future (the server's clock reads ${now.toISOString()})`);
  }
  if (deliveredAt.getTime() < now.getTime() - maxAgeDays * DAY_MS) {
    throw badRequest('deliveredAt', `must lie within the last ${maxAgeDays} days (DELIVERY_MAX_AGE_DAYS)`);
  }
}

/** Tries of a transaction that lost races to insert the same new rows as concurrent posts. */
const RACE_ATTEMPTS = 3;

/**
 * Prisma's upsert looks up, then inserts: two posts naming the same new consultant (customer,
 * vehicle, or the same delivery twice) can both miss it, and the second insert then fails on the
 * unique key. The row is committed by then, so the transaction run again finds and uses it.
 */
async function retryingInsertRaces<T>(work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (err) {
      const lostRace = err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002';
      if (!lostRace || attempt >= RACE_ATTEMPTS) throw err;
    }
  }
}

/** What starting a delivery's workflow reads of its store. */
interface StoreFacts {
  id: string;
  timeZone: string;
  yearsPlan: unknown;
}

/** A contact plan version as its deliveries' workflows take it. */
type PlanInput = LifecycleInput['plan'];

/**
 * Plan versions already read and checked. A version's row never changes (a new plan is a new
 * version), so a version remembered is never stale: a store's new plan is found by its new ID.
 */
const planVersions = new Map<string, PlanInput>();
const MAX_REMEMBERED_PLANS = 1_000;

async function planVersion(db: Db, planId: string): Promise<PlanInput> {
  const known = planVersions.get(planId);
  if (known) return known;
  const row = await db.contactPlan.findUniqueOrThrow({ where: { id: planId } });
  const plan = { id: row.id, version: row.version, steps: ContactPlanSchema.parse({ steps: row.steps }).steps as PlanStep[] };
  if (planVersions.size >= MAX_REMEMBERED_PLANS) planVersions.clear();
  planVersions.set(planId, plan);
  return plan;
}

/** The workflow's input, from the delivery's rows alone: the request and the repair loop start it alike. */
function lifecycleInputOf(d: {
  id: string; deliveredAt: Date; importedVehicle: unknown; store: StoreFacts; plan: PlanInput;
  customer: { contactWindowStart: string; contactWindowEnd: string }; vehicle: { model: string };
}): LifecycleInput {
  // A store's own years plan, unless it no longer passes the rules (they grew stricter): then the built-in one.
  const years = d.store.yearsPlan === null ? undefined : YearsPlanSchema.safeParse(d.store.yearsPlan).data;
  return {
    deliveryId: d.id, storeId: d.store.id, timeZone: d.store.timeZone, deliveredAt: d.deliveredAt.toISOString(),
    customerWindow: { start: d.customer.contactWindowStart, end: d.customer.contactWindowEnd },
    plan: d.plan,
    vehicle: { model: d.vehicle.model },
    ...(years && { years }),
    ...(d.importedVehicle !== null && { imported: true, vehicle: VehicleFactsSchema.parse(d.importedVehicle) }),
  };
}

/**
 * Records a delivery (its vehicle, customer and consultant too) and starts its workflow. The same
 * delivery posted again is found, not recorded twice, and its workflow is started if it was not.
 */
export async function recordDelivery(
  deps: DeliveryDeps, input: DeliveryInput, opts: { maxAgeDays: number; now?: Date; imported?: ImportedFacts; actor?: AuditActor },
): Promise<RecordedDelivery> {
  const { db } = deps;
  // The store and its current plan version in one statement (a version's steps are remembered).
  const [store] = await db.$queryRaw<(StoreFacts & { planId: string | null })[]>`
    SELECT s.id, s."timeZone", s."yearsPlan",
           (SELECT p.id::text FROM "ContactPlan" p WHERE p."storeId" = s.id ORDER BY p.version DESC LIMIT 1) AS "planId"
    FROM "Store" s WHERE s.id = ${input.storeId}`;
  if (!store) throw badRequest('storeId', `unknown store ${input.storeId}`);
  if (!store.planId) throw notFound(`contact plan of store ${store.id}`);
  const plan = await planVersion(db, store.planId);
  const deliveredAt = new Date(input.deliveredAt);
  const window = input.customer.contactWindow ?? DEFAULT_CUSTOMER_WINDOW;

  const recorded = await retryingInsertRaces(() => db.$transaction(async (tx) => {
    // Writing the vehicle row holds it until commit: posts for one vehicle take turns below.
    const vehicle = await tx.vehicle.upsert({
      where: { storeId_vin: { storeId: store.id, vin: input.vehicle.vin } },
      update: { model: input.vehicle.model, plate: input.vehicle.plate },
      create: { storeId: store.id, vin: input.vehicle.vin, model: input.vehicle.model, plate: input.vehicle.plate },
    });
    // The same delivery posted before, and the vehicle's active ownership, in one look.
    const known = await tx.delivery.findMany({ where: { vehicleId: vehicle.id, OR: [{ deliveredAt }, { status: 'active' }] } });
    const same = known.find((d) => d.deliveredAt.getTime() === deliveredAt.getTime());
    if (same) return { delivery: same, created: null };
    // The existing base is old by nature: its workflow skips what was owed before it started.
    checkDeliveredAt(deliveredAt, opts.now ?? new Date(), opts.imported ? Infinity : opts.maxAgeDays);
    const active = known.find((d) => d.status === 'active');
    if (active) throw conflict(`vehicle ${input.vehicle.vin} already has an active ownership delivered ${active.deliveredAt.toISOString()}; end it before recording a new delivery`);

    const consultantKey = { storeId_externalId: { storeId: store.id, externalId: input.consultant.externalId } };
    let consultant = await tx.staff.findUnique({ where: consultantKey, select: { id: true } });
    if (!consultant) {
      const { name, phone } = input.consultant;
      if (!name) throw badRequest('consultant.name', `consultant ${input.consultant.externalId} is not on the staff list of ${store.id}: give the name to add them`);
      consultant = await tx.staff.create({ data: { storeId: store.id, externalId: input.consultant.externalId, name, role: 'consultant', phone }, select: { id: true } });
    }
    const c = input.customer;
    const customerData = { name: c.name, phone: c.phone, email: c.email, locale: c.locale, contactWindowStart: window.start, contactWindowEnd: window.end };
    const audited = (row: Record<keyof typeof customerData, unknown>) => Object.fromEntries(Object.keys(customerData).map((k) => [k, row[k as keyof typeof customerData]]));
    const previous = await tx.customer.findUnique({ where: { storeId_externalId: { storeId: store.id, externalId: c.externalId } } });
    // Written only when new or changed (an email left out keeps the one on file): a returning customer's same details cost no write.
    const changed = !previous || JSON.stringify(audited(previous)) !== JSON.stringify(audited({ ...customerData, email: c.email ?? previous.email }));
    const customer = !previous ? await tx.customer.create({ data: { storeId: store.id, externalId: c.externalId, ...customerData } })
      : changed ? await tx.customer.update({ where: { id: previous.id }, data: customerData }) : previous;
    if (changed) {
      await recordAudit(tx, {
        actor: opts.actor ?? 'system', action: previous ? 'customer.update' : 'customer.create', entity: 'customer', entityId: customer.id, storeId: store.id,
        before: previous && audited(previous), after: audited(customer),
      });
    }
    const delivery = await tx.delivery.create({
      data: {
        storeId: store.id, vehicleId: vehicle.id, customerId: customer.id, consultantId: consultant.id, deliveredAt,
        byAppointment: input.byAppointment, workflowId: workflowIdFor(store.id, vehicle.vin), planId: plan.id,
        ...(opts.imported && { importedVehicle: opts.imported.vehicle as unknown as Prisma.InputJsonValue }),
      },
    });
    return { delivery, created: { customer, vehicle } };
  }));

  const { delivery, created } = recorded;
  const needsStart = delivery.status === 'active' && !delivery.workflowStartedAt;
  if (!needsStart) return { id: delivery.id, storeId: store.id, created: created !== null, started: null, written: created && { delivery, vin: created.vehicle.vin, planVersion: plan.version } };
  if (!created) return { id: delivery.id, storeId: store.id, created: false, started: await startDeliveryWorkflow(deps, delivery.id), written: null };
  // A delivery this call wrote starts from the rows in hand.
  const started = await startWorkflow(deps, delivery, lifecycleInputOf({ ...delivery, ...created, store, plan }));
  return {
    id: delivery.id, storeId: store.id, created: true, started: started.input,
    written: { delivery: { ...delivery, workflowStartedAt: started.at }, vin: created.vehicle.vin, planVersion: plan.version },
  };
}

/**
 * Starts the workflow of a recorded delivery, from its rows alone (so the repair loop starts it
 * exactly as the request would have), and marks the start intent done. Safe to call again: the
 * running workflow of the same ID is taken, not a second one started.
 */
export async function startDeliveryWorkflow(deps: DeliveryDeps, deliveryId: string): Promise<LifecycleInput> {
  const d = await deps.db.delivery.findUniqueOrThrow({ where: { id: deliveryId }, include: { store: true, customer: true, vehicle: true } });
  const plan = await planVersion(deps.db, d.planId ?? (await currentPlan(deps.db, d.storeId)).id);
  return (await startWorkflow(deps, d, lifecycleInputOf({ ...d, plan }))).input;
}

/** Starts the workflow and marks the start intent done; `at` is when. */
async function startWorkflow({ db, temporal, taskQueue }: DeliveryDeps, d: { id: string; storeId: string; workflowId: string }, input: LifecycleInput): Promise<{ input: LifecycleInput; at: Date }> {
  await temporal.workflow.start<(input: LifecycleInput) => Promise<LifecycleState>>('vehicleLifecycle', {
    taskQueue,
    workflowId: d.workflowId,
    args: [input],
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    // A vehicle sold again starts a new run under the same ID once the previous ownership's has closed.
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
    typedSearchAttributes: [{ key: STORE_ID_ATTRIBUTE, value: d.storeId }, { key: DELIVERY_ID_ATTRIBUTE, value: d.id }],
  });
  const at = new Date();
  await db.delivery.updateMany({ where: { id: d.id, workflowStartedAt: null }, data: { workflowStartedAt: at } });
  return { input, at };
}

export interface ReconcilerOptions {
  /** Deliveries recorded less than this long ago are left to the request that records them. */
  graceMs: number;
  /** How long one start may take before the round gives up (Temporal still down). */
  startTimeoutMs: number;
  /** At most this many starts per round. */
  batch?: number;
  log: { info: (obj: object, msg: string) => void; warn: (obj: object, msg: string) => void };
}

/**
 * One round of repair: starts the workflows of active deliveries whose start never completed,
 * oldest first. Stops at the first sign that Temporal or PostgreSQL is unavailable (the next
 * round tries again); any other failure is logged and the round goes on with the next delivery.
 */
export async function startMissingWorkflows(deps: DeliveryDeps, opts: ReconcilerOptions): Promise<number> {
  const pending = await deps.db.delivery.findMany({
    where: { workflowStartedAt: null, status: 'active', createdAt: { lt: new Date(Date.now() - opts.graceMs) } },
    select: { id: true },
    orderBy: { createdAt: 'asc' },
    take: opts.batch ?? 50,
  });
  let started = 0;
  for (const { id } of pending) {
    try {
      await deps.temporal.withDeadline(Date.now() + opts.startTimeoutMs, () => startDeliveryWorkflow(deps, id));
      started += 1;
    } catch (err) {
      const dependency = unavailableDependency(err);
      opts.log.warn({ deliveryId: id, dependency, err: (err as Error).message }, 'could not start the workflow of a recorded delivery; trying again later');
      if (dependency) break;
    }
  }
  if (started > 0) opts.log.info({ started }, 'started the workflows of deliveries recorded while Temporal was unavailable');
  return started;
}

/**
 * Repairs in the background: a round at once (deliveries a crash or an outage left unstarted),
 * then one every `everyMs`. Returns a function that stops it and waits for a round in progress.
 */
export function reconcileWorkflowStarts(deps: DeliveryDeps, opts: ReconcilerOptions & { everyMs: number }): () => Promise<void> {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let round: Promise<void> = Promise.resolve();
  const run = () => {
    // Cases whose workflow never began are repaired in the same rounds (src/services/cases.ts).
    round = Promise.all([startMissingWorkflows(deps, opts), startMissingCaseWorkflows(deps, opts)])
      .then(() => undefined, (err: unknown) => opts.log.warn({ err: (err as Error).message }, 'reconciler round failed'))
      .finally(() => {
        if (!stopped) timer = setTimeout(run, opts.everyMs);
      });
  };
  run();
  return async () => {
    stopped = true;
    clearTimeout(timer);
    await round;
  };
}
