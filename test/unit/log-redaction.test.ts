import Fastify from 'fastify';
import { httpLoggerOptions, redactQuery } from '../../src/logger';

/** An unsubscribe token in a log is a working link to withdraw someone's consent: never log one. */
describe('log redaction', () => {
  it('masks secrets in query strings and leaves other parameters readable', () => {
    expect(redactQuery('/v1/unsubscribe?token=c1.SIG&lang=zh')).toBe('/v1/unsubscribe?token=[redacted]&lang=zh');
    expect(redactQuery('/x?storeId=demo&api_key=K&resetToken=T#top')).toBe('/x?storeId=demo&api_key=[redacted]&resetToken=[redacted]#top');
    expect(redactQuery('/v1/tasks?assigneeId=s1&due=overdue')).toBe('/v1/tasks?assigneeId=s1&due=overdue');
  });

  it('keeps unsubscribe tokens out of the API request log, for known and unknown routes', async () => {
    const lines: string[] = [];
    const app = Fastify({ logger: { ...httpLoggerOptions('info'), stream: { write: (line: string) => lines.push(line) } } });
    app.get('/v1/unsubscribe', async () => 'ok');
    await app.inject('/v1/unsubscribe?token=cust-1.SECRETSIGNATURE&lang=zh');
    await app.inject('/v1/unsubscrib?token=cust-1.SECRETSIGNATURE');
    await app.close();

    const log = lines.join('');
    expect(log).toContain('/v1/unsubscribe?token=[redacted]&lang=zh');
    expect(log).toContain('/v1/unsubscrib?token=[redacted]');
    expect(log).not.toContain('SECRETSIGNATURE');
  });
});
