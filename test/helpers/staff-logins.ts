import type { Db } from '../../src/db/client';
import { hashPassword } from '../../src/services/sessions';

/** A login for existing Staff rows, with a password that needs no change (as if the person had set it). */
export async function createLogin(db: Db, login: string, password: string, staffIds: string[]): Promise<string> {
  const account = await db.staffLogin.create({ data: { login, passwordHash: await hashPassword(password) } });
  await db.staff.updateMany({ where: { id: { in: staffIds } }, data: { loginId: account.id } });
  return account.id;
}
