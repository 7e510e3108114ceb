/**
 * Contact windows: the local hours in which a customer may be called or messaged (H-1, seed 000
 * p.73) and the quiet-hour maths on them (in local-time.ts, which the workflow bundle imports
 * without zod). Pure: imported by workflows and by the API.
 */
import { z } from 'zod';
import type { ContactWindow } from './local-time';

export * from './local-time';

const TimeOfDaySchema = z
  .string()
  .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'expected a local time HH:MM from 00:00 to 23:59');

/** Local wall-clock hours; `end` is exclusive, and `start > end` means the window crosses midnight. */
export const ContactWindowSchema: z.ZodType<ContactWindow> = z
  .object({ start: TimeOfDaySchema, end: TimeOfDaySchema })
  .refine((w) => w.start !== w.end, {
    message: 'start and end must differ (an empty or a whole-day window is ambiguous)',
    path: ['end'],
  });

