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
