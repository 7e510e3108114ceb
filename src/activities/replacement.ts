import { DateTime } from 'luxon';
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

/** Vehicle workflows asked at once for their service and odometer data. */
const QUERY_CONCURRENCY = 8;

export function createReplacementActivities(deps: Pick<ActivityDeps, 'db' | 'logger' | 'temporal'>) {
  const { db, logger, temporal } = deps;

  /**
   * The last service and readings live in the vehicle's workflow (its years state); null when it
   * cannot answer. Its lastServiceOn is the delivery day until a first service: that is no service.
   */
  async function serviceData(workflowId: string): Promise<Pick<ScreenedVehicle, 'lastServiceOn' | 'readings'> | null> {
    try {
      const state: LifecycleState = await temporal.workflow.getHandle(workflowId).query(stateQuery);
      const years = state.years;
      return years ? { lastServiceOn: years.servicesDone > 0 ? years.lastServiceOn : null, readings: years.readings } : {};
    } catch (err) {
      logger.warn({ workflowId, error: String(err) }, 'replacement screening: vehicle workflow did not answer');
      return null;
    }
  }

  return {
    /**
     * The store's weekly replacement screening (I-1), on its morning run: active ownerships of the
     * criteria's ages and models, then, when the criteria ask about service or mileage, what the
     * vehicle's workflow knows. Each match becomes a pending candidate for CR, once per vehicle
     * and cycle (the unique key makes a retry or a second run add nothing). A vehicle CR found
     * already replaced is not screened again.
     */
    async screenReplacementCandidates(input: ScreenReplacementInput): Promise<{ screened: number; added: number }> {
      const store = await db.store.findFirst({ where: { id: input.storeId, paused: false } });
      if (!store) return { screened: 0, added: 0 };
      const { criteria } = criteriaOf(store.replacementCriteria);
      const today = localDateOf(new Date(input.asOf), store.timeZone);
      if (!isScreeningDay(criteria, today)) return { screened: 0, added: 0 };
      const { firstOn, lastOn } = deliveredBetween(criteria, today);
      const startOf = (on: string) => DateTime.fromISO(on, { zone: store.timeZone }).toJSDate();
      const deliveries = await db.delivery.findMany({
        where: {
          storeId: store.id, status: 'active', workflowStartedAt: { not: null },
          deliveredAt: { gte: startOf(firstOn), lt: startOf(DateTime.fromISO(lastOn).plus({ days: 1 }).toISODate()!) },
          replacementCandidates: { none: { status: 'already_replaced' } },
        },
        select: { id: true, workflowId: true, deliveredAt: true, vehicle: { select: { model: true } }, replacementCandidates: { select: { cycle: true } } },
        orderBy: { deliveredAt: 'asc' },
      });
      const needsWorkflow = criteria.lastServiceWithinMonths !== null || criteria.minMileageKm !== null;
      const found: { storeId: string; deliveryId: string; cycle: string; facts: object }[] = [];
      let screened = 0;
      const due = deliveries.filter((d) => !d.replacementCandidates.some((c) => c.cycle === replacementCycle(localDateOf(d.deliveredAt, store.timeZone), today)));
      for (let i = 0; i < due.length; i += QUERY_CONCURRENCY) {
        await Promise.all(due.slice(i, i + QUERY_CONCURRENCY).map(async (d) => {
          const vehicle: ScreenedVehicle = { deliveredOn: localDateOf(d.deliveredAt, store.timeZone), model: d.vehicle.model };
          // Age and model first: the workflow is asked only about vehicles they leave in.
          if (!screenVehicle({ ...criteria, lastServiceWithinMonths: null, minMileageKm: null }, vehicle, today).match) return;
          const data = needsWorkflow ? await serviceData(d.workflowId) : {};
          if (!data) return;
          screened++;
          const result = screenVehicle(criteria, { ...vehicle, ...data }, today);
          if (result.match) found.push({ storeId: store.id, deliveryId: d.id, cycle: result.cycle, facts: result.facts });
        }));
      }
      const { count } = await db.replacementCandidate.createMany({ data: found, skipDuplicates: true });
      logger.info({ storeId: store.id, screened, added: count }, 'replacement screening');
      return { screened, added: count };
    },
  };
}

export type ReplacementActivities = ReturnType<typeof createReplacementActivities>;
