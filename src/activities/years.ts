import type { CycleChange, YearsKind } from '../domain/years';
import type { ActivityDeps } from './deps';

export interface RecordYearsCycleInput {
  deliveryId: string;
  key: string;
  kind: YearsKind;
  /** Local date YYYY-MM-DD. */
  dueOn: string;
  change: CycleChange['change'];
  at: string;
}

const COLUMN = { reminded: 'remindedAt', booked: 'bookedAt', done: 'doneAt', lapsed: 'lapsedAt' } as const;

export function createYearsActivities(deps: Pick<ActivityDeps, 'db'>) {
  const { db } = deps;
  return {
    /**
     * A cycle of the years changed (reminded, booked, done, lapsed): its KPI row says so. Each
     * timestamp is written once, so a retry or a repeated event keeps the first; the due date
     * follows the latest plan of it.
     */
    async recordYearsCycle(input: RecordYearsCycleInput): Promise<void> {
      const { storeId } = await db.delivery.findUniqueOrThrow({ where: { id: input.deliveryId }, select: { storeId: true } });
      const column = COLUMN[input.change];
      const dueOn = new Date(`${input.dueOn}T00:00:00Z`);
      await db.yearsCycle.upsert({
        where: { deliveryId_key: { deliveryId: input.deliveryId, key: input.key } },
        create: { storeId, deliveryId: input.deliveryId, key: input.key, kind: input.kind, dueOn, [column]: new Date(input.at) },
        update: { dueOn },
      });
      await db.yearsCycle.updateMany({ where: { deliveryId: input.deliveryId, key: input.key, [column]: null }, data: { [column]: new Date(input.at) } });
    },
  };
}
