import type { Client } from '@temporalio/client';
import type { Db } from '../db/client';
import type { Logger } from '../logger';
import type { SendPace } from '../messaging/pace';
import type { Transport } from '../messaging/transports';

/** Everything activities touch from outside, built once by the worker and handed in. */
export interface ActivityDeps {
  db: Db;
  sms: Transport;
  email: Transport;
  publicBaseUrl: string;
  logger: Logger;
  /** Starts the workflows activities open (a case's own workflow), on the workers' task queue. */
  temporal: Pick<Client, 'workflow'>;
  taskQueue: string;
  /** MESSAGE_CAP_PER_DAY; the domain default (3) when left out. */
  messageCapPerDay?: number;
  /** The SMS provider's pace shared by all workers (SMS_RATE_PER_SECOND); left out, SMS go out unpaced. */
  smsPace?: SendPace;
}
