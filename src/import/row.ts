/**
 * One data row of an import, validated: the cells of the known columns become an ImportRecord
 * (what the row says about a customer, a vehicle, its delivery, a service visit, a policy), or
 * the problems, each naming the column as the file wrote it.
 */
import { z } from 'zod';
import { ExternalIdSchema } from '../domain/ids';
import { MobilePhoneSchema } from '../domain/phone';
import { safeName, safeNote, safeText } from '../domain/text';
import { MAX_ODOMETER_KM } from '../domain/years';
import { VinSchema } from '../domain/vin';
import { type Field, FIELDS, type HeaderMap } from './columns';
import { parseImportDate } from './dates';

export type Cell = string | number | boolean | Date | null | undefined;
export type RawRow = Partial<Record<Field, Cell>>;

/** Empty cells are absent; Excel numbers (a phone typed as a number) become their digits. */
function cellText(cell: unknown): unknown {
  if (cell === null || cell === undefined) return undefined;
  if (cell instanceof Date) return cell;
  const text = String(cell).trim();
  return text === '' ? undefined : text;
}

const optional = <T extends z.ZodType>(schema: T) => z.preprocess(cellText, schema.optional());

const DateCell = z.union([z.string(), z.number(), z.date()]).transform((raw, ctx) => {
  const parsed = parseImportDate(raw);
  if (parsed.ok) return parsed.value;
  ctx.addIssue({ code: 'custom', message: parsed.problem });
  return z.NEVER;
});

const KmCell = z.string().transform((raw, ctx) => {
  const km = Number(raw.replace(/[,，\s]|km|公里/giu, ''));
  if (Number.isInteger(km) && km >= 0 && km <= MAX_ODOMETER_KM) return km;
  ctx.addIssue({ code: 'custom', message: `must be a whole number of km from 0 to ${MAX_ODOMETER_KM}` });
  return z.NEVER;
});

// Service types that are the periodic maintenance (定保) rather than a repair.
const MAINTENANCE = /保养|定保|首保|maintenance/iu;

const CellsSchema = z.object({
  customerExternalId: optional(ExternalIdSchema),
  customerName: optional(safeName(100)),
  phone: optional(MobilePhoneSchema),
  email: optional(z.email().max(254)),
  vin: optional(VinSchema),
  model: optional(safeText(100)),
  plate: optional(safeText(20)),
  deliveredAt: optional(DateCell),
  consultantId: optional(ExternalIdSchema),
  consultantName: optional(safeName(100)),
  serviceDate: optional(DateCell),
  odometerKm: optional(KmCell),
  serviceType: optional(safeText(50)),
  workDone: optional(safeNote(500)),
  insuranceExpiry: optional(DateCell),
  insurer: optional(safeText(100)),
  policyNumber: optional(safeText(64)),
}).superRefine((r, ctx) => {
  const need = (field: Field, why: string) => ctx.addIssue({ code: 'custom', path: [field], message: `required ${why}` });
  const customer = r.customerExternalId ?? r.customerName ?? r.phone ?? r.email;
  if (customer !== undefined && !r.customerExternalId && !r.phone) need('phone', 'to find the customer (or a customer ID)');
  if (!r.vin && customer === undefined) need('vin', 'on a row without a customer');
  if (r.deliveredAt) {
    if (!r.vin) need('vin', 'for a delivery');
    if (!r.customerName) need('customerName', 'for a delivery');
    if (!r.phone) need('phone', 'for a delivery');
    if (!r.consultantId) need('consultantId', 'for a delivery (the sales consultant\'s staff ID)');
  }
  if ((r.serviceDate || r.odometerKm !== undefined) && !r.vin) need('vin', 'for a service visit');
  if (r.odometerKm !== undefined && !r.serviceDate) need('serviceDate', 'with a mileage');
  if ((r.insuranceExpiry || r.policyNumber) && !r.vin) need('vin', 'for an insurance policy');
  if (r.policyNumber && !r.insuranceExpiry) need('insuranceExpiry', 'with a policy number');
}).transform((r) => ({
  ...((r.customerExternalId ?? r.customerName ?? r.phone ?? r.email) !== undefined && {
    customer: { externalId: r.customerExternalId, name: r.customerName, phone: r.phone, email: r.email },
  }),
  ...(r.vin && { vehicle: { vin: r.vin, model: r.model, plate: r.plate } }),
  ...(r.deliveredAt && { delivery: { deliveredAt: r.deliveredAt, consultant: { externalId: r.consultantId!, name: r.consultantName } } }),
  ...(r.serviceDate && {
    service: {
      visitedOn: r.serviceDate.date, odometerKm: r.odometerKm,
      maintenance: MAINTENANCE.test(`${r.serviceType ?? ''} ${r.workDone ?? ''}`),
      work: r.workDone ? [r.workDone] : undefined,
    },
  }),
  ...(r.insuranceExpiry && { policy: { expiresOn: r.insuranceExpiry.date, insurer: r.insurer, policyNumber: r.policyNumber } }),
}));

export type ImportRecord = z.infer<typeof CellsSchema>;

export interface RowProblem {
  /** The column as the file named it (the field's name when the file has no such column). */
  column: string;
  message: string;
}

export type RowParse = { ok: true; record: ImportRecord } | { ok: false; problems: RowProblem[] };

export function parseRow(raw: RawRow, header: HeaderMap): RowParse {
  const parsed = CellsSchema.safeParse(raw);
  if (parsed.success) {
    if (Object.keys(parsed.data).length > 0) return { ok: true, record: parsed.data };
    return { ok: false, problems: [{ column: '', message: 'the row is empty' }] };
  }
  return {
    ok: false,
    problems: parsed.error.issues.map((i) => {
      const field = i.path[0] as Field | undefined;
      return { column: field ? header.columnOf[field] ?? FIELDS[field][0] : '', message: i.message };
    }),
  };
}
