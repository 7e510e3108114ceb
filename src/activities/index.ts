import { createCaseActivities } from './cases';
import type { ActivityDeps } from './deps';
import { createDigestActivities } from './digest';
import { createFollowUpActivities } from './follow-ups';
import { createImportActivities } from './import';
import { createMessagingActivities } from './messaging';
import { createNotificationActivities } from './notifications';
import { createReplacementActivities } from './replacement';
import { createYearsActivities } from './years';

export type { ActivityDeps } from './deps';

/** All activities, built from their dependencies; workflows import only the type. */
export const createActivities = (deps: ActivityDeps) => ({
  ...createMessagingActivities(deps),
  ...createFollowUpActivities(deps),
  ...createImportActivities(deps),
  ...createCaseActivities(deps),
  ...createYearsActivities(deps),
  ...createDigestActivities(deps),
  ...createNotificationActivities(deps),
  ...createReplacementActivities(deps),
});

export type Activities = ReturnType<typeof createActivities>;
