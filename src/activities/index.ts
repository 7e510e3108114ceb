import { createCaseActivities } from './cases';
import type { ActivityDeps } from './deps';
import { createFollowUpActivities } from './follow-ups';
import { createMessagingActivities } from './messaging';
import { createYearsActivities } from './years';

export type { ActivityDeps } from './deps';

/** All activities, built from their dependencies; workflows import only the type. */
export const createActivities = (deps: ActivityDeps) => ({
  ...createMessagingActivities(deps),
  ...createFollowUpActivities(deps),
  ...createCaseActivities(deps),
  ...createYearsActivities(deps),
});

export type Activities = ReturnType<typeof createActivities>;
