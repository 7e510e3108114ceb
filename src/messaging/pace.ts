import { ApplicationFailure } from '@temporalio/common';
import type { Db } from '../db/client';
import { ErrorType } from '../domain/errors';
import { readRows } from '../db/raw';
import { Prisma } from '../generated/prisma/client';
import { smsSegments } from '../domain/sms-segments';

/**
 * The provider's sending pace, shared by every worker: one row per provider in PostgreSQL holds the
 * instant its next slot is free (GCRA, the "virtual scheduling" form of a token bucket). A send
 * reserves its slot with one atomic UPDATE, moving the row on by its cost / rate, then waits for
 * the slot. The row is the same for all workers, so the rate holds however many run; and the cost
 * is the message's SMS segments where the provider throttles by segment, which Temporal's task-queue
 * rate limit (it counts activity tasks) cannot do. docs/SCALING.md "Sending at the provider's pace".
 */
export interface SendPace {
  /** The longest a send waits for its slot (see SendPaceOptions). */
  readonly maxWaitMs: number;
  /** What one message costs against the rate: its segments, or 1 where the provider counts messages. */
  cost(body: string): number;
  /**
   * Reserves the next slot for a send of `cost`, unless that slot lies after `latest` (the message's
   * "not after") or more than the pace's maximum wait ahead. Nothing is reserved unless it says "slot".
   */
  reserve(cost: number, latest: Date | null): Promise<Reservation>;
}

export type Reservation =
  /** Send after waiting `waitMs`. */
  | { status: 'slot'; waitMs: number }
  /** The pace is booked further ahead than a send may wait: try again in `retryInMs`, still before `latest`. */
  | { status: 'booked'; retryInMs: number }
  /** The first free slot is after `latest`: the message can no longer go out in time. */
  | { status: 'past-latest' };

/** The send's failure when the pace is booked beyond its wait: Temporal retries it once the slots ahead have gone. */
export function paceBookedAhead(retryInMs: number): ApplicationFailure {
  return ApplicationFailure.create({ message: 'the provider\'s pace is booked ahead', type: ErrorType.SendPaceBooked, nextRetryDelay: retryInMs });
}

/** Waits longer than this retry later (src/workflows/vehicle-lifecycle.ts gives the paced send 45 s in all). */
export const SEND_PACE_MAX_WAIT_MS = 10_000;

export interface SendPaceOptions {
  /** The pace's row, e.g. "sms". */
  key: string;
  /** Units (segments or messages) per second the provider accepts. */
  perSecond: number;
  counts: 'segments' | 'messages';
  /**
   * The longest a send waits for its slot inside the activity (it holds a worker slot meanwhile, and
   * the wait counts in its start-to-close timeout). Further ahead, the activity retries later
   * instead: how far ahead the pace is booked is then bounded by the workers' concurrent sends.
   */
  maxWaitMs: number;
}

export function createSendPace(db: Db, { key, perSecond, counts, maxWaitMs }: SendPaceOptions): SendPace {
  let created: Promise<unknown> | undefined;
  return {
    maxWaitMs,
    cost: (body) => (counts === 'segments' ? Math.max(1, smsSegments(body).segments) : 1),

    async reserve(cost, latest) {
      // Once per process; a failure (the database away) is tried again by the next send.
      created ??= db.$executeRaw`INSERT INTO "SendPace" ("key", "nextFreeAt") VALUES (${key}, now()) ON CONFLICT ("key") DO NOTHING`
        .catch((err: unknown) => {
          created = undefined;
          throw err;
        });
      await created;
      const seconds = cost / perSecond;
      // The database's clock for every worker, so skewed worker clocks cannot crowd the slots.
      // Under the row lock READ COMMITTED re-reads "nextFreeAt", so two reservations never share a slot.
      const booked = await readRows<{ waitMs: number }>(db, Prisma.sql`
        UPDATE "SendPace" SET "nextFreeAt" = GREATEST("nextFreeAt", now()) + make_interval(secs => ${seconds}::float8)
        WHERE "key" = ${key}
          AND GREATEST("nextFreeAt", now()) <= LEAST(${latest}::timestamptz, now() + make_interval(secs => ${maxWaitMs / 1000}::float8))
        RETURNING (extract(epoch FROM "nextFreeAt" - now()) * 1000 - ${seconds * 1000}::float8)::float8 AS "waitMs"`, { prepared: 'pace-reserve' });
      if (booked.length > 0) return { status: 'slot', waitMs: Math.max(0, booked[0].waitMs) };
      const [{ freeInMs, pastLatest }] = await readRows<{ freeInMs: number; pastLatest: boolean }>(db, Prisma.sql`
        SELECT (extract(epoch FROM GREATEST("nextFreeAt", now()) - now()) * 1000)::float8 AS "freeInMs",
               coalesce(GREATEST("nextFreeAt", now()) > ${latest}::timestamptz, false) AS "pastLatest"
        FROM "SendPace" WHERE "key" = ${key}`, { prepared: 'pace-free-at' });
      if (pastLatest) return { status: 'past-latest' };
      return { status: 'booked', retryInMs: Math.max(1, freeInMs - maxWaitMs / 2) };
    },
  };
}
