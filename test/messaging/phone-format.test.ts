import { randomUUID } from 'node:crypto';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createMessagingActivities, type SendMessageInput, type SendMessageResult } from '../../src/activities/messaging';
import type { Db } from '../../src/db/client';
import { createOutboxTransport } from '../../src/messaging/transports';
import { createTestDatabase } from '../helpers/db';
import { PUBLIC_BASE_URL, seedCustomer, seedStore, silentLogger, zoneWhereItIsNoon } from './fixtures';
import { recordingCaseWorkflows } from '../helpers/case-workflows';

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let db: Db;

beforeAll(async () => {
  t = await createTestDatabase();
  db = t.db;
});

afterAll(async () => {
  await t?.drop();
});

async function farewell(deliveryId: string): Promise<string> {
  const send = createMessagingActivities({ db, sms: createOutboxTransport(), email: createOutboxTransport(), publicBaseUrl: PUBLIC_BASE_URL, logger: silentLogger, ...recordingCaseWorkflows() }).sendMessage;
  const input: SendMessageInput = { idempotencyKey: `wf:${deliveryId}:${randomUUID()}`, deliveryId, templateKey: 'delivery-farewell', channel: 'sms', purpose: 'service' };
  const result = await new MockActivityEnvironment().run<[SendMessageInput], SendMessageResult, typeof send>(send, input);
  return (await db.message.findUniqueOrThrow({ where: { id: result.messageId! } })).body;
}

describe('phone numbers in the farewell SMS', () => {
  it('reads them in national format to a Chinese customer and with +86 to an English-speaking one', async () => {
    const { store } = await seedStore(db, { timeZone: zoneWhereItIsNoon(), serviceHotline: '4008001234' });
    const zh = await seedCustomer(db, store.id);
    const en = await seedCustomer(db, store.id, { locale: 'en' });

    const zhBody = await farewell(zh.deliveryId);
    const enBody = await farewell(en.deliveryId);

    expect(zhBody).toContain('请存下我的电话139 0000 1111');
    expect(zhBody).toContain('请拨打服务热线400 800 1234');
    expect(enBody).toContain('Please save my number, +86 139 0000 1111');
    expect(enBody).toContain('call our hotline +86 400 800 1234');
  });

  it('gives the hotline for a consultant without a phone (a consultant the DMS created on a delivery)', async () => {
    const { store, consultant } = await seedStore(db, { timeZone: zoneWhereItIsNoon(), serviceHotline: '021-6279 8888' });
    await db.staff.update({ where: { id: consultant.id }, data: { phone: null } });
    const { deliveryId } = await seedCustomer(db, store.id);

    expect(await farewell(deliveryId)).toContain('请存下我的电话021 6279 8888');
  });
});
