import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { ConfigError, parseConfig } from '../../src/config';

describe('configuration', () => {
  it('gives every process the embedded defaults when nothing is set', () => {
    const c = parseConfig({});
    expect(c.DATABASE_URL).toBeUndefined();
    expect(c.TEMPORAL_NAMESPACE).toBe('default');
    expect(c.API_PORT).toBe(3000);
    expect(c.PUBLIC_BASE_URL).toBe('http://127.0.0.1:3000');
    expect(c.twilioEnabled).toBe(false);
  });

  it('names the variable at fault', () => {
    const problems = (env: Record<string, string>) => {
      try {
        parseConfig(env);
        return [];
      } catch (err) {
        return (err as ConfigError).issues;
      }
    };
    expect(problems({ API_PORT: 'eighty' })).toEqual([expect.stringMatching(/^API_PORT: /)]);
    expect(problems({ DATABASE_URL: 'mysql://x' })).toEqual([expect.stringMatching(/^DATABASE_URL: must start with postgres/)]);
    expect(problems({ TEMPORAL_ADDRESS: 'temporal.example.com' })).toEqual(['TEMPORAL_ADDRESS: must be host:port']);
    expect(problems({ TWILIO_ACCOUNT_SID: `AC${'0'.repeat(32)}` })).toEqual(expect.arrayContaining([expect.stringMatching(/^TWILIO_AUTH_TOKEN: /)]));
    expect(problems({ TEMPORAL_TLS_CERT_PATH: '/tmp/c.pem' })).toEqual([expect.stringMatching(/^TEMPORAL_TLS_KEY_PATH: /)]);
    expect(problems({ SMS_RATE_PER_SECOND: '0' })).toEqual([expect.stringMatching(/^SMS_RATE_PER_SECOND: /)]);
    expect(problems({ SMS_RATE_COUNTS: 'characters' })).toEqual([expect.stringMatching(/^SMS_RATE_COUNTS: /)]);
  });

  it('paces SMS by segment at a conservative rate unless told the provider\'s', () => {
    expect(parseConfig({})).toMatchObject({ SMS_RATE_PER_SECOND: 10, SMS_RATE_COUNTS: 'segments', MESSAGING_WORKER_CONCURRENCY: 20 });
    expect(parseConfig({ SMS_RATE_PER_SECOND: '2.5', SMS_RATE_COUNTS: 'messages' })).toMatchObject({ SMS_RATE_PER_SECOND: 2.5, SMS_RATE_COUNTS: 'messages' });
  });

  describe('UNSUBSCRIBE_SECRET', () => {
    const secret = 'k'.repeat(32);
    const twilio = { TWILIO_ACCOUNT_SID: `AC${'0'.repeat(32)}`, TWILIO_AUTH_TOKEN: 'auth-token', TWILIO_FROM: '+8613800000000' };
    const issues = (env: Record<string, string>) => {
      try {
        parseConfig(env);
        return [];
      } catch (err) {
        return (err as ConfigError).issues;
      }
    };

    it.each([
      ['a real SMTP server', { SMTP_URL: 'smtps://user:pass@smtp.example.com:465' }],
      ['Twilio', twilio],
      ['Twilio at another non-local base URL', { ...twilio, TWILIO_API_BASE_URL: 'https://twilio-proxy.example.com' }],
      ['an API listening beyond localhost', { API_HOST: '0.0.0.0' }],
      ['a public base URL, even plain http', { PUBLIC_BASE_URL: 'http://huifang.example.com' }],
      ['a public https base URL', { PUBLIC_BASE_URL: 'https://huifang.example.com' }],
    ])('is required with %s', (_, env) => {
      expect(issues(env)).toEqual([expect.stringMatching(/^UNSUBSCRIBE_SECRET: required with /)]);
      expect(issues({ ...env, UNSUBSCRIBE_SECRET: secret })).toEqual([]);
    });

    it.each([
      ['the embedded defaults', {}],
      ['a local mail sink', { SMTP_URL: 'smtp://127.0.0.1:1025' }],
      ['a local Twilio mock', { ...twilio, TWILIO_API_BASE_URL: 'http://127.0.0.1:4010' }],
      ['an API on localhost', { API_HOST: 'localhost', PUBLIC_BASE_URL: 'http://[::1]:3000' }],
    ])('may stay unset with %s (nothing leaves the machine)', (_, env) => {
      expect(issues(env)).toEqual([]);
    });

    it('is refused when shorter than 32 characters', () => {
      expect(issues({ UNSUBSCRIBE_SECRET: 'short' })).toEqual([expect.stringMatching(/^UNSUBSCRIBE_SECRET: at least 32/)]);
    });
  });

  it('treats an empty variable as unset', () => {
    expect(parseConfig({ DATABASE_URL: '', API_PORT: '' }).API_PORT).toBe(3000);
  });

  it('stops a process on a wrong value with a message naming the variable', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/worker.ts'], {
      cwd: path.resolve(__dirname, '..', '..'),
      env: { PATH: process.env.PATH, API_PORT: '99999' },
      encoding: 'utf8',
    });
    expect(run.status).toBe(78);
    expect(run.stderr).toMatch(/Invalid configuration:\n\s+- API_PORT: /);
  });
});
