import { verify } from '@node-rs/argon2';
import { hashPassword } from '../../src/services/sessions';

describe('staff password hashes', () => {
  it('are argon2id with the OWASP baseline parameters, salted, and verify only the right password', async () => {
    const [a, b] = await Promise.all([hashPassword('correct horse battery'), hashPassword('correct horse battery')]);
    expect(a).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(a).not.toBe(b);
    await expect(verify(a, 'correct horse battery')).resolves.toBe(true);
    await expect(verify(a, 'correct horse batterY')).resolves.toBe(false);
  });
});
