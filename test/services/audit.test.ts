import type { Db } from '../../src/db/client';
import { recordAudit } from '../../src/services/audit';
import { adminQuery, createTestDatabase } from '../helpers/db';

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let db: Db;

beforeAll(async () => {
  t = await createTestDatabase();
  db = t.db;
  await db.store.create({ data: { id: 'audit-1', name: 'Audit store' } });
});

afterAll(async () => {
  await t?.drop();
});

const entry = (entityId: string) => ({
  actor: { kind: 'api-key' as const, id: 'key-1' }, action: 'staff.update', entity: 'staff' as const, entityId, storeId: 'audit-1',
  before: { role: 'consultant', active: true }, after: { role: 'supervisor', active: true },
});

describe('the audit log', () => {
  it('records who, what, before and after, in the transaction of the change', async () => {
    await db.$transaction((tx) => recordAudit(tx, entry('s-1')));
    const [row] = await db.auditLog.findMany({ where: { entityId: 's-1' } });
    expect(row).toMatchObject({ actorKind: 'api-key', actorId: 'key-1', action: 'staff.update', before: { role: 'consultant' }, after: { role: 'supervisor' } });
    expect(row.at.getTime()).toBeGreaterThan(Date.now() - 60_000);
  });

  it('keeps nothing of a change that rolled back', async () => {
    await expect(db.$transaction(async (tx) => {
      await recordAudit(tx, entry('s-rolled-back'));
      throw new Error('the change failed');
    })).rejects.toThrow('the change failed');
    expect(await db.auditLog.count({ where: { entityId: 's-rolled-back' } })).toBe(0);
  });

  it('never stores a secret, at any depth', async () => {
    await db.$transaction((tx) => recordAudit(tx, {
      ...entry('k-1'), entity: 'api-key', action: 'api-key.create',
      after: { name: 'DMS', keyHash: 'abc', nested: { password: 'p@ss', token: 't' }, keyPrefix: 'hf_123' },
    }));
    const row = await db.auditLog.findFirstOrThrow({ where: { entityId: 'k-1' } });
    expect(row.after).toEqual({ name: 'DMS', keyHash: '[secret]', nested: { password: '[secret]', token: '[secret]' }, keyPrefix: 'hf_123' });
  });

  it('cannot be edited, deleted or truncated by the application, even though its role owns the table', async () => {
    await db.$transaction((tx) => recordAudit(tx, entry('s-fixed')));
    await expect(db.auditLog.updateMany({ where: { entityId: 's-fixed' }, data: { action: 'nothing.happened' } })).rejects.toThrow();
    await expect(db.auditLog.deleteMany({ where: { entityId: 's-fixed' } })).rejects.toThrow();
    await expect(db.$executeRawUnsafe('TRUNCATE "AuditLog"')).rejects.toThrow();
    await expect(adminQuery(t.url, `DELETE FROM "AuditLog"`)).rejects.toThrow(/append-only/);
    expect(await db.auditLog.findFirstOrThrow({ where: { entityId: 's-fixed' } })).toMatchObject({ action: 'staff.update' });
  });

  it('refuses any other role too, even one granted every privilege', async () => {
    await adminQuery(t.url, `CREATE ROLE audit_app_${process.pid} LOGIN PASSWORD 'x'; GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA public TO audit_app_${process.pid}`);
    try {
      const url = t.url.replace(/\/\/[^@]+@/, `//audit_app_${process.pid}:x@`);
      await expect(adminQuery(url, `UPDATE "AuditLog" SET action = 'x'`)).rejects.toThrow(/append-only/);
      await expect(adminQuery(url, `TRUNCATE "AuditLog"`)).rejects.toThrow(/append-only/);
      expect(await db.auditLog.count()).toBeGreaterThan(0);
    } finally {
      await adminQuery(t.url, `REVOKE ALL ON ALL TABLES IN SCHEMA public FROM audit_app_${process.pid}; DROP ROLE audit_app_${process.pid}`);
    }
  });
});
