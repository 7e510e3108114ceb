/**
 * Applies one validated row: its customer and vehicle found by their natural keys (store +
 * customer ID or phone; store + VIN) and created or updated, its delivery recorded through the
 * same service as POST /v1/deliveries (which starts the vehicle's workflow, marked imported), and
 * its service visit or policy handed to the running workflow as the DMS routes do. Applying a row
 * again changes nothing and creates nothing.
 */
import { createHash } from 'node:crypto';
import { DateTime } from 'luxon';
import { ActivityFailure, ApplicationFailure, WorkflowUpdateFailedError } from '@temporalio/client';
import { HttpError } from '../services/errors';
import { type DeliveryDeps, recordDelivery } from '../services/deliveries';
import { recordVehicleEventUpdate, type VehicleEvent } from '../workflows/contract';
import { type Field, FIELDS } from './columns';
import { instantOf } from './dates';
import type { ImportRecord, RowProblem } from './row';

export type Action = 'created' | 'updated' | 'unchanged' | 'recorded';

export interface RowResult {
  customer?: { id: string; action: Action };
  vehicle?: { id: string; action: Action };
  delivery?: { id: string; action: Action };
  service?: { action: Action };
  policy?: { action: Action };
}

/** A row the data refuses (an unknown vehicle, a second active ownership): reported, never retried. */
export class RowRejected extends Error {
  constructor(readonly problems: RowProblem[]) {
    super(problems.map((p) => `${p.column}: ${p.message}`).join('; '));
  }
}

const reject = (field: Field, message: string) => new RowRejected([{ column: FIELDS[field][0], message }]);

/** The service's field names in 4xx errors, as import columns. */
const COLUMN_OF_SERVICE_FIELD: Record<string, Field> = {
  deliveredAt: 'deliveredAt', 'consultant.name': 'consultantName', 'customer.phone': 'phone', 'vehicle.vin': 'vin',
};

/** A customer the DMS gave no ID: keyed by phone, under an ID that never shows the number. */
const idForPhone = (phone: string) => `phone-${createHash('sha256').update(phone).digest('hex').slice(0, 16)}`;

export interface Store {
  id: string;
  timeZone: string;
}

type Customer = NonNullable<Awaited<ReturnType<DeliveryDeps['db']['customer']['findUnique']>>>;
type Vehicle = NonNullable<Awaited<ReturnType<DeliveryDeps['db']['vehicle']['findUnique']>>>;

/**
 * The customers and vehicles a chunk's rows name, read in two queries rather than two per row:
 * keyed "id:<externalId>", "phone:<E.164>" and the VIN; a key read and not found maps to null.
 * Rows of the chunk keep it current as they create and update.
 */
export interface Known {
  customers: Map<string, Customer | null>;
  vehicles: Map<string, Vehicle | null>;
}

export async function prefetch(db: DeliveryDeps['db'], storeId: string, records: ImportRecord[]): Promise<Known> {
  const ids = [...new Set(records.flatMap((r) => (r.customer?.externalId ? [r.customer.externalId] : [])))];
  const phones = [...new Set(records.flatMap((r) => (r.customer && !r.customer.externalId && r.customer.phone ? [r.customer.phone] : [])))];
  const vins = [...new Set(records.flatMap((r) => (r.vehicle ? [r.vehicle.vin] : [])))];
  const [customers, vehicles] = await Promise.all([
    db.customer.findMany({ where: { storeId, OR: [{ externalId: { in: ids } }, { phone: { in: phones } }] }, orderBy: { createdAt: 'asc' } }),
    db.vehicle.findMany({ where: { storeId, vin: { in: vins } } }),
  ]);
  const known: Known = { customers: new Map(), vehicles: new Map() };
  for (const id of ids) known.customers.set(`id:${id}`, null);
  for (const phone of phones) known.customers.set(`phone:${phone}`, null);
  for (const c of customers) {
    known.customers.set(`id:${c.externalId}`, c);
    // The oldest customer of a number answers for it (as findFirst by creation would).
    if (known.customers.get(`phone:${c.phone}`) === null) known.customers.set(`phone:${c.phone}`, c);
  }
  for (const vin of vins) known.vehicles.set(vin, null);
  for (const v of vehicles) known.vehicles.set(v.vin, v);
  return known;
}

export async function applyRecord(deps: DeliveryDeps, store: Store, record: ImportRecord, known: Known): Promise<RowResult> {
  const { db } = deps;
  const result: RowResult = {};

  let customer: Customer | null = null;
  if (record.customer) {
    const c = record.customer;
    const key = c.externalId ? `id:${c.externalId}` : `phone:${c.phone!}`;
    const found = known.customers.has(key)
      ? known.customers.get(key)!
      : c.externalId
        ? await db.customer.findUnique({ where: { storeId_externalId: { storeId: store.id, externalId: c.externalId } } })
        : await db.customer.findFirst({ where: { storeId: store.id, phone: c.phone! }, orderBy: { createdAt: 'asc' } });
    if (found) {
      const changes = Object.fromEntries(
        (['name', 'phone', 'email'] as const).filter((k) => c[k] !== undefined && c[k] !== found[k]).map((k) => [k, c[k]]),
      );
      customer = Object.keys(changes).length > 0 ? await db.customer.update({ where: { id: found.id }, data: changes }) : found;
      result.customer = { id: found.id, action: Object.keys(changes).length > 0 ? 'updated' : 'unchanged' };
    } else {
      if (!c.name) throw reject('customerName', 'required for a new customer');
      if (!c.phone) throw reject('phone', 'required for a new customer');
      customer = await db.customer.create({
        data: { storeId: store.id, externalId: c.externalId ?? idForPhone(c.phone), name: c.name, phone: c.phone, email: c.email },
      });
      result.customer = { id: customer.id, action: 'created' };
    }
    known.customers.set(key, customer);
  }

  let vehicle: Vehicle | null = null;
  if (record.vehicle) {
    const v = record.vehicle;
    const found = known.vehicles.has(v.vin)
      ? known.vehicles.get(v.vin)!
      : await db.vehicle.findUnique({ where: { storeId_vin: { storeId: store.id, vin: v.vin } } });
    if (found) {
      const changes = Object.fromEntries((['model', 'plate'] as const).filter((k) => v[k] !== undefined && v[k] !== found[k]).map((k) => [k, v[k]]));
      vehicle = Object.keys(changes).length > 0 ? await db.vehicle.update({ where: { id: found.id }, data: changes }) : found;
      result.vehicle = { id: found.id, action: Object.keys(changes).length > 0 ? 'updated' : 'unchanged' };
    } else {
      if (!v.model) throw reject('model', 'required for a new vehicle');
      vehicle = await db.vehicle.create({ data: { storeId: store.id, vin: v.vin, model: v.model, plate: v.plate } });
      result.vehicle = { id: vehicle.id, action: 'created' };
    }
    known.vehicles.set(v.vin, vehicle);
  }

  if (record.delivery && customer && vehicle) {
    try {
      const recorded = await recordDelivery(deps, {
        storeId: store.id,
        deliveredAt: instantOf(record.delivery.deliveredAt, store.timeZone).toISOString(),
        byAppointment: false,
        customer: {
          externalId: customer.externalId, name: customer.name, phone: customer.phone, email: customer.email ?? undefined,
          locale: customer.locale === 'en' ? 'en' : 'zh-CN', contactWindow: { start: customer.contactWindowStart, end: customer.contactWindowEnd },
        },
        vehicle: { vin: vehicle.vin, model: vehicle.model, plate: vehicle.plate ?? undefined },
        consultant: record.delivery.consultant,
      }, { maxAgeDays: 0, imported: { vehicle: { model: vehicle.model } } });
      result.delivery = { id: recorded.id, action: recorded.created ? 'created' : 'unchanged' };
    } catch (err) {
      if (!(err instanceof HttpError) || err.statusCode >= 500) throw err;
      const field = err.issues?.[0]?.field;
      throw new RowRejected([{ column: FIELDS[COLUMN_OF_SERVICE_FIELD[field ?? ''] ?? 'deliveredAt'][0], message: err.issues?.[0]?.message ?? err.message }]);
    }
  }

  // Handed to the workflow even when this row started it: one path, whose update IDs make a repeat one event.
  if (record.service || record.policy) {
    const events: [keyof RowResult, VehicleEvent, string][] = [];
    if (record.service) {
      const s = record.service;
      events.push(['service', { kind: 'service-visit', visitedOn: s.visitedOn, odometerKm: s.odometerKm, maintenance: s.maintenance, work: s.work }, `import-service-${s.visitedOn}-${s.odometerKm ?? ''}`]);
    }
    if (record.policy) {
      const p = record.policy;
      events.push(['policy', { kind: 'insurance-renewed', expiresOn: p.expiresOn }, `import-policy-${p.policyNumber ?? p.expiresOn}`]);
    }
    const vin = record.vehicle!.vin;
    const active = await db.delivery.findFirst({ where: { storeId: store.id, vehicle: { vin }, status: 'active' } });
    if (!active) throw reject('vin', `vehicle ${vin} has no active ownership: import its delivery (交车日期) first`);
    const deliveredOn = DateTime.fromJSDate(active.deliveredAt, { zone: store.timeZone }).toISODate()!;
    if (record.service && record.service.visitedOn < deliveredOn) throw reject('serviceDate', `must not be before the delivery (${deliveredOn})`);
    for (const [part, event, updateId] of events) {
      await sendVehicleEvent(deps, active.workflowId, event, updateId);
      (result[part] as { action: Action }) = { action: 'recorded' };
    }
  }
  return result;
}

/**
 * As the DMS route does (POST vehicle events): the workflow applies the event and answers once it
 * has; the update ID is the natural key (the vehicle by workflow ID, the date and odometer, or the
 * policy), so the same row imported again is one event.
 */
async function sendVehicleEvent({ temporal }: DeliveryDeps, workflowId: string, event: VehicleEvent, updateId: string): Promise<void> {
  const field = event.kind === 'service-visit' ? 'serviceDate' : 'insuranceExpiry';
  try {
    await temporal.workflow.getHandle(workflowId).executeUpdate(recordVehicleEventUpdate, { args: [event], updateId });
  } catch (err) {
    const cause = err instanceof WorkflowUpdateFailedError ? err.cause : undefined;
    // The validator's refusals (the years not planned, the ownership ended, a bad value) are the row's answer.
    if (cause instanceof ApplicationFailure && ['YearsNotPlanned', 'OwnershipEnded', 'InvalidRequest'].includes(cause.type ?? '')) throw reject(field, cause.message);
    // The workflow could not write its rows in a few tries and applied nothing: the row says so rather than the job retrying it forever.
    if (cause instanceof ActivityFailure) throw reject(field, 'could not be recorded just now (the database was unavailable); import this row again');
    throw err;
  }
}

/** The key that orders a record's work: rows of one vehicle (or one customer) are applied one after another. */
export function laneKey(record: ImportRecord): string {
  return record.vehicle?.vin ?? record.customer?.externalId ?? record.customer?.phone ?? '';
}
