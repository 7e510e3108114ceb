import type { Client } from '@temporalio/client';
import type { Db } from '../../src/db/client';
import { hashPassword } from '../../src/services/sessions';

/** A login for existing Staff rows, with a password that needs no change (as if the person had set it). */
export async function createLogin(db: Db, login: string, password: string, staffIds: string[]): Promise<string> {
  const account = await db.staffLogin.create({ data: { login, passwordHash: await hashPassword(password) } });
  await db.staff.updateMany({ where: { id: { in: staffIds } }, data: { loginId: account.id } });
  return account.id;
}

export interface RecordedUpdate {
  workflowId: string;
  name: string;
  arg: unknown;
  updateId?: string;
}

/**
 * A Temporal client for API tests without a server: every update is accepted and recorded (the
 * task's workflow would record the outcome; these tests are about who may ask), signals too.
 */
export function acceptingTemporal(): { client: Client; updates: RecordedUpdate[] } {
  const updates: RecordedUpdate[] = [];
  const client = {
    withDeadline: <T>(_deadline: number, fn: () => Promise<T>) => fn(),
    workflow: {
      getHandle: (workflowId: string) => ({
        executeUpdate: async (def: { name: string }, opts: { args: unknown[]; updateId?: string }) => {
          updates.push({ workflowId, name: def.name, arg: opts.args[0], updateId: opts.updateId });
          return { status: 'done_on_time', upcoming: [] };
        },
        signal: async () => undefined,
        query: async () => {
          throw new Error('no workflow in this test');
        },
      }),
      start: async (_type: unknown, opts: { workflowId: string }) => ({ workflowId: opts.workflowId }),
    },
    // The digest schedule a store's settings keep in step.
    schedule: { getHandle: () => ({ update: async () => undefined }) },
  } as unknown as Client;
  return { client, updates };
}
