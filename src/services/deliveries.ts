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
import { randomUUID } from 'node:crypto';
import { type Client, WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/client';
import pg from 'pg';
import { z } from 'zod';
import { badRequest, conflict, notFound, unavailableDependency } from './errors';
import { ExternalIdSchema, StoreIdSchema } from '../domain/ids';
import type { Db } from '../db/client';
import { inTransaction, readRows } from '../db/raw';
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
import { type AuditActor, auditInsert } from './audit';
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
 * Two posts naming the same new consultant (or customer) can both miss it, and the second insert
 * then fails on the unique key (or the two wait on each other: a deadlock, and one is rolled
 * back). Nothing of the loser is left, the row is committed by then, and the transaction run
 * again finds and uses it.
 */
async function retryingInsertRaces<T>(work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (err) {
      const lostRace = err instanceof pg.DatabaseError && (err.code === UNIQUE_VIOLATION || err.code === DEADLOCK_DETECTED);
      if (!lostRace || attempt >= RACE_ATTEMPTS) throw err;
    }
  }
}
const UNIQUE_VIOLATION = '23505';
const DEADLOCK_DETECTED = '40P01';

/** What the transaction reads once the vehicle is held: its deliveries that matter, the consultant, the customer. */
interface KnownRows {
  known: { id: string; status: string; same: boolean; started: boolean; deliveredAt: string }[] | null;
  consultantId: string | null;
  customer: CustomerFields & { id: string } | null;
}

/** A customer's fields as a delivery writes them, and as the audit log records them. */
interface CustomerFields {
  name: string; phone: string; email: string | null; locale: string; contactWindowStart: string; contactWindowEnd: string;
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
  const [store] = await readRows<StoreFacts & { planId: string | null }>(db, Prisma.sql`
    SELECT s.id, s."timeZone", s."yearsPlan",
           (SELECT p.id::text FROM "ContactPlan" p WHERE p."storeId" = s.id ORDER BY p.version DESC LIMIT 1) AS "planId"
    FROM "Store" s WHERE s.id = ${input.storeId}`, { prepared: 'delivery-store' });
  if (!store) throw badRequest('storeId', `unknown store ${input.storeId}`);
  if (!store.planId) throw notFound(`contact plan of store ${store.id}`);
  const plan = await planVersion(db, store.planId);
  const deliveredAt = new Date(input.deliveredAt);
  const window = input.customer.contactWindow ?? DEFAULT_CUSTOMER_WINDOW;

  // Straight through node-postgres: as ten Prisma statements, compiling them cost the API more CPU than PostgreSQL spent running them.
  const recorded = await retryingInsertRaces(() => inTransaction(db, async (query) => {
    // Writing the vehicle row holds it until commit: posts for one vehicle take turns below.
    const [vehicle] = await query<{ id: string; vin: string; model: string }>(Prisma.sql`
      INSERT INTO "Vehicle" (id, "storeId", vin, model, plate) VALUES (${randomUUID()}::uuid, ${store.id}, ${input.vehicle.vin}, ${input.vehicle.model}, ${input.vehicle.plate ?? null})
      ON CONFLICT ("storeId", vin) DO UPDATE SET model = EXCLUDED.model, plate = coalesce(EXCLUDED.plate, "Vehicle".plate)
      RETURNING id::text, vin, model`, { prepared: 'delivery-vehicle' });
    // Read after the vehicle is held (a statement of its own sees what the post before it committed):
    // the same delivery posted before and the vehicle's active ownership, the consultant, the customer.
    const [found] = await query<KnownRows>(Prisma.sql`
      SELECT
        (SELECT json_agg(json_build_object('id', d.id, 'status', d.status, 'same', d."deliveredAt" = ${deliveredAt}::timestamptz,
                  'started', d."workflowStartedAt" IS NOT NULL, 'deliveredAt', d."deliveredAt"))
           FROM "Delivery" d WHERE d."vehicleId" = ${vehicle.id}::uuid AND (d."deliveredAt" = ${deliveredAt}::timestamptz OR d.status = 'active')) AS known,
        (SELECT s.id::text FROM "Staff" s WHERE s."storeId" = ${store.id} AND s."externalId" = ${input.consultant.externalId}) AS "consultantId",
        (SELECT to_json(c) FROM (SELECT id, name, phone, email, locale, "contactWindowStart", "contactWindowEnd" FROM "Customer"
           WHERE "storeId" = ${store.id} AND "externalId" = ${input.customer.externalId}) c) AS customer`, { prepared: 'delivery-known' });
    const same = found.known?.find((d) => d.same);
    if (same) return { delivery: same, created: null };
    // The existing base is old by nature: its workflow skips what was owed before it started.
    checkDeliveredAt(deliveredAt, opts.now ?? new Date(), opts.imported ? Infinity : opts.maxAgeDays);
    const active = found.known?.find((d) => d.status === 'active');
    if (active) throw conflict(`vehicle ${input.vehicle.vin} already has an active ownership delivered ${new Date(active.deliveredAt).toISOString()}; end it before recording a new delivery`);

    const writes: Prisma.Sql[] = [];
    let consultantId = found.consultantId;
    if (!consultantId) {
      const { name, phone } = input.consultant;
      if (!name) throw badRequest('consultant.name', `consultant ${input.consultant.externalId} is not on the staff list of ${store.id}: give the name to add them`);
      consultantId = randomUUID();
      writes.push(Prisma.sql`staff AS (INSERT INTO "Staff" (id, "storeId", "externalId", name, role, phone, "updatedAt")
        VALUES (${consultantId}::uuid, ${store.id}, ${input.consultant.externalId}, ${name}, 'consultant', ${phone ?? null}, now()))`);
    }
    const c = input.customer;
    const previous = found.customer;
    const fields = (f: CustomerFields): CustomerFields => ({
      name: f.name, phone: f.phone, email: f.email, locale: f.locale, contactWindowStart: f.contactWindowStart, contactWindowEnd: f.contactWindowEnd,
    });
    // An email left out keeps the one on file.
    const customer: CustomerFields & { id: string } = {
      id: previous?.id ?? randomUUID(), name: c.name, phone: c.phone, email: c.email ?? previous?.email ?? null, locale: c.locale,
      contactWindowStart: window.start, contactWindowEnd: window.end,
    };
    // Written only when new or changed: a returning customer's same details cost no write.
    const changed = !previous || JSON.stringify(fields(previous)) !== JSON.stringify(fields(customer));
    if (!previous) {
      writes.push(Prisma.sql`customer AS (INSERT INTO "Customer" (id, "storeId", "externalId", name, phone, email, locale, "contactWindowStart", "contactWindowEnd", "updatedAt")
        VALUES (${customer.id}::uuid, ${store.id}, ${c.externalId}, ${customer.name}, ${customer.phone}, ${customer.email}, ${customer.locale}, ${customer.contactWindowStart}, ${customer.contactWindowEnd}, now()))`);
    } else if (changed) {
      writes.push(Prisma.sql`customer AS (UPDATE "Customer" SET name = ${customer.name}, phone = ${customer.phone}, email = ${customer.email}, locale = ${customer.locale},
        "contactWindowStart" = ${customer.contactWindowStart}, "contactWindowEnd" = ${customer.contactWindowEnd}, "updatedAt" = now() WHERE id = ${customer.id}::uuid)`);
    }
    if (changed) {
      writes.push(Prisma.sql`audit AS (${auditInsert({
        actor: opts.actor ?? 'system', action: previous ? 'customer.update' : 'customer.create', entity: 'customer', entityId: customer.id, storeId: store.id,
        before: previous && fields(previous), after: fields(customer),
      })})`);
    }
    const imported = opts.imported ? JSON.stringify(opts.imported.vehicle) : null;
    // One statement: a new consultant, the customer and their audit row, and the delivery.
    const [delivery] = await query<Delivery>(Prisma.sql`${writes.length > 0 ? Prisma.sql`WITH ${Prisma.join(writes, ', ')} ` : Prisma.empty}
      INSERT INTO "Delivery" (id, "storeId", "vehicleId", "customerId", "consultantId", "deliveredAt", "byAppointment", "workflowId", "planId", "importedVehicle")
      VALUES (${randomUUID()}::uuid, ${store.id}, ${vehicle.id}::uuid, ${customer.id}::uuid, ${consultantId}::uuid, ${deliveredAt}::timestamptz, ${input.byAppointment},
        ${workflowIdFor(store.id, vehicle.vin)}, ${plan.id}::uuid, ${imported}::jsonb)
      RETURNING id::text, "storeId", "vehicleId"::text, "customerId"::text, "consultantId"::text, "ownerId"::text, "reclaimedAt", "deliveredAt", "byAppointment",
        "workflowId", "workflowStartedAt", "planId"::text, status, "endedAt", "endedReason", "importedVehicle", "createdAt"`, { prepared: 'delivery-insert' });
    return { delivery, created: { customer, vehicle } };
  }));

  if (!recorded.created) {
    const { delivery } = recorded;
    const needsStart = delivery.status === 'active' && !delivery.started;
    return { id: delivery.id, storeId: store.id, created: false, started: needsStart ? await startDeliveryWorkflow(deps, delivery.id) : null, written: null };
  }
  // A delivery this call wrote starts from the rows in hand.
  const { delivery, created } = recorded;
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
  await readRows(db, Prisma.sql`UPDATE "Delivery" SET "workflowStartedAt" = ${at} WHERE id = ${d.id}::uuid AND "workflowStartedAt" IS NULL`, { prepared: 'delivery-started' });
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
