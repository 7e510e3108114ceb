import { Context } from '@temporalio/activity';
import { DateTime } from 'luxon';
import { z } from 'zod';
import { localDateOf } from '../domain/local-time';
import type { LifecycleState } from '../domain/lifecycle';
import { deliveredBetween, isScreeningDay, replacementCycle, type ScreenedVehicle, screenVehicle } from '../domain/replacement';
import { criteriaOf } from '../services/replacement';
import { stateQuery } from '../workflows/contract';
import type { ActivityDeps } from './deps';

export interface ScreenReplacementInput {
  storeId: string;
  /** the morning run's instant: "today" in the store's zone */
  asOf: string;
}

/**
 * How far a screening got: the last vehicle (delivery time, ID) of the last page written, and the
 * counts so far. It is the heartbeat's details, so a retried attempt resumes after that vehicle.
 */
const ScreeningProgressSchema = z.object({
  after: z.object({ deliveredAt: z.iso.datetime(), id: z.uuid() }).optional(),
  screened: z.number().int().min(0),
  added: z.number().int().min(0),
});
export type ScreeningProgress = z.infer<typeof ScreeningProgressSchema>;

/** Vehicle workflows asked at once for their service and odometer data: a few, not to crowd the frontend. */
const QUERY_CONCURRENCY = 4;
/** Vehicles per page: a page's queries take about a second at ~13 ms each, four at once; each page ends with a heartbeat. */
export const SCREENING_PAGE_SIZE = 300;
/** A workflow that has not answered by then (its worker gone) is skipped for this run, not waited on past the heartbeat timeout. */
const QUERY_DEADLINE_MS = 10_000;

export function createReplacementActivities(deps: Pick<ActivityDeps, 'db' | 'logger' | 'temporal'>, { pageSize = SCREENING_PAGE_SIZE } = {}) {
  const { db, logger, temporal } = deps;

  /**
   * The last service and readings live in the vehicle's workflow (its years state); its
   * lastServiceOn is the delivery day until a first service: that is no service. Null when it
   * cannot answer, or plans no years yet (a run started before the years' planning, until its
   * yearly continue-as-new): such a workflow refuses the outreach call, so the vehicle is left for
   * a later screening rather than made a candidate no pass can serve.
   */
  async function serviceData(workflowId: string): Promise<Pick<ScreenedVehicle, 'lastServiceOn' | 'readings'> | null> {
    let state: LifecycleState;
    try {
      state = await temporal.workflow.withDeadline(Date.now() + QUERY_DEADLINE_MS, () => temporal.workflow.getHandle(workflowId).query(stateQuery));
    } catch (err) {
      logger.warn({ workflowId, error: String(err) }, 'replacement screening: vehicle workflow did not answer');
      return null;
    }
    const years = state.years;
    return years ? { lastServiceOn: years.servicesDone > 0 ? years.lastServiceOn : null, readings: years.readings } : null;
  }

  return {
    /**
     * The store's weekly replacement screening (I-1), on its morning run: active ownerships of the
     * criteria's ages and models, then what the vehicle's workflow knows (asked also when the
     * criteria have no service or mileage bound: only a workflow planning the years can open the
     * call). Each match becomes a pending candidate for CR, once per vehicle and cycle (the unique
     * key makes a retry or a second run add nothing). A vehicle CR found already replaced is not
     * screened again.
     *
     * A store of 30,000 vehicles takes minutes of queries, so the vehicles go by pages in a stable
     * order (delivery time, ID); each page's candidates are written before its last key is sent as
     * the heartbeat's details, and a retried attempt resumes after that key.
     */
    async screenReplacementCandidates(input: ScreenReplacementInput): Promise<ScreeningProgress> {
      const { info } = Context.current();
      const resumed = ScreeningProgressSchema.safeParse(info.heartbeatDetails);
      let progress: ScreeningProgress = resumed.success ? resumed.data : { screened: 0, added: 0 };
      const store = await db.store.findFirst({ where: { id: input.storeId, paused: false } });
      if (!store) return progress;
      const { criteria } = criteriaOf(store.replacementCriteria);
      const today = localDateOf(new Date(input.asOf), store.timeZone);
      if (!isScreeningDay(criteria, today)) return progress;
      const { firstOn, lastOn } = deliveredBetween(criteria, today);
      const startOf = (on: string) => DateTime.fromISO(on, { zone: store.timeZone }).toJSDate();
      for (;;) {
        const after = progress.after && { deliveredAt: new Date(progress.after.deliveredAt), id: progress.after.id };
        const page = await db.delivery.findMany({
          where: {
            storeId: store.id, status: 'active', workflowStartedAt: { not: null },
            deliveredAt: { gte: startOf(firstOn), lt: startOf(DateTime.fromISO(lastOn).plus({ days: 1 }).toISODate()!) },
            replacementCandidates: { none: { status: 'already_replaced' } },
            ...(after && { OR: [{ deliveredAt: { gt: after.deliveredAt } }, { deliveredAt: after.deliveredAt, id: { gt: after.id } }] }),
          },
          select: { id: true, workflowId: true, deliveredAt: true, vehicle: { select: { model: true } }, replacementCandidates: { select: { cycle: true } } },
          orderBy: [{ deliveredAt: 'asc' }, { id: 'asc' }],
          take: pageSize,
        });
        if (!page.length) break;
        const found: { storeId: string; deliveryId: string; cycle: string; facts: object }[] = [];
        let screened = 0;
        const due = page.filter((d) => !d.replacementCandidates.some((c) => c.cycle === replacementCycle(localDateOf(d.deliveredAt, store.timeZone), today)));
        await eachAtMost(due, QUERY_CONCURRENCY, async (d) => {
          const vehicle: ScreenedVehicle = { deliveredOn: localDateOf(d.deliveredAt, store.timeZone), model: d.vehicle.model };
          // Age and model first: the workflow is asked only about vehicles they leave in.
          if (!screenVehicle({ ...criteria, lastServiceWithinMonths: null, minMileageKm: null }, vehicle, today).match) return;
          const data = await serviceData(d.workflowId);
          // Alive while a page of slow workflows takes its time; the details stay those of the last page written.
          Context.current().heartbeat(progress);
          if (!data) return;
          screened++;
          const result = screenVehicle(criteria, { ...vehicle, ...data }, today);
          if (result.match) found.push({ storeId: store.id, deliveryId: d.id, cycle: result.cycle, facts: result.facts });
        });
        const { count } = await db.replacementCandidate.createMany({ data: found, skipDuplicates: true });
        const last = page[page.length - 1];
        progress = { after: { deliveredAt: last.deliveredAt.toISOString(), id: last.id }, screened: progress.screened + screened, added: progress.added + count };
        Context.current().heartbeat(progress);
        if (page.length < pageSize) break;
      }
      logger.info({ storeId: store.id, screened: progress.screened, added: progress.added, attempt: info.attempt }, 'replacement screening');
      return progress;
    },
  };
}

/** Runs `fn` over the items, at most `limit` at once. */
async function eachAtMost<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]);
  }));
}

export type ReplacementActivities = ReturnType<typeof createReplacementActivities>;
