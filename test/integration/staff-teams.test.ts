import { recordingTemporal } from '../messaging/fixtures';
import { buildServer } from '../../src/api/server';
import { createApiKey, createStore } from '../../src/services/stores';
import { parseConfig } from '../../src/config';
import { createTestDatabase } from '../helpers/db';

let env: Awaited<ReturnType<typeof createTestDatabase>>;
let app: Awaited<ReturnType<typeof buildServer>>;
let baseUrl: string;
let key: string;

beforeAll(async () => {
  env = await createTestDatabase();
  await createStore(env.db, { id: 'sh-a', name: 'Store A', timeZone: 'Asia/Shanghai', serviceHotline: '400-800-1234' }, 'test');
  await createStore(env.db, { id: 'sh-b', name: 'Store B', timeZone: 'Asia/Shanghai', serviceHotline: '400-800-1234' }, 'test');
  key = (await createApiKey(env.db, { name: 'admin', role: 'admin', storeId: null })).key;
  app = await buildServer({ config: parseConfig({ LOG_LEVEL: 'silent' }), db: env.db, temporal: recordingTemporal().client });
  baseUrl = await app.listen({ host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  await app?.close();
  await env?.drop();
});

async function put(storeId: string, externalId: string, body: Record<string, unknown>) {
  const res = await fetch(`${baseUrl}/v1/stores/${storeId}/staff/${externalId}`, {
    method: 'PUT', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any }; // eslint-disable-line @typescript-eslint/no-explicit-any
}

describe('a consultant\'s team (PUT /v1/stores/:storeId/staff/:externalId)', () => {
  it('puts a consultant in an active supervisor\'s team, keeps it on updates that leave it out, and null takes them out', async () => {
    const supervisor = await put('sh-a', 'S-10', { name: '王主管', role: 'supervisor' });
    const joined = await put('sh-a', 'C-10', { name: '李顾问', role: 'consultant', supervisorExternalId: 'S-10' });
    expect(joined).toMatchObject({ status: 200, body: { externalId: 'C-10', supervisorId: supervisor.body.id } });

    expect((await put('sh-a', 'C-10', { name: '李顾问', role: 'consultant', phone: '13800138000' })).body.supervisorId).toBe(supervisor.body.id);
    const list = await fetch(`${baseUrl}/v1/stores/sh-a/staff`, { headers: { authorization: `Bearer ${key}` } });
    expect(((await list.json()) as { externalId: string; supervisorId: string }[]).find((s) => s.externalId === 'C-10')?.supervisorId).toBe(supervisor.body.id);

    expect((await put('sh-a', 'C-10', { name: '李顾问', role: 'consultant', supervisorExternalId: null })).body.supervisorId).toBeNull();
  });

  it('refuses a team that is not an active supervisor of the same store, naming supervisorExternalId', async () => {
    await put('sh-a', 'S-20', { name: '赵主管', role: 'supervisor', active: false });
    await put('sh-a', 'C-20', { name: '钱顾问', role: 'consultant' });
    await put('sh-a', 'S-21', { name: '孙主管', role: 'supervisor' });
    await put('sh-b', 'S-22', { name: '周主管', role: 'supervisor' });
    const cases: [string, Record<string, unknown>][] = [
      ['unknown', { name: '吴顾问', role: 'consultant', supervisorExternalId: 'S-404' }],
      ['inactive', { name: '吴顾问', role: 'consultant', supervisorExternalId: 'S-20' }],
      ['not a supervisor', { name: '吴顾问', role: 'consultant', supervisorExternalId: 'C-20' }],
      ['another store\'s', { name: '吴顾问', role: 'consultant', supervisorExternalId: 'S-22' }],
      ['a team for a non-consultant', { name: '吴经理', role: 'manager', supervisorExternalId: 'S-21' }],
      ['blank', { name: '吴顾问', role: 'consultant', supervisorExternalId: '' }],
    ];
    for (const [what, body] of cases) {
      const res = await put('sh-a', 'C-21', body);
      expect([what, res.status, res.body.issues?.[0]?.field]).toEqual([what, 400, 'supervisorExternalId']);
    }
    // Nothing was written by the refused requests.
    expect(await env.db.staff.findUnique({ where: { storeId_externalId: { storeId: 'sh-a', externalId: 'C-21' } } })).toBeNull();
  });
});
