/**
 * The load generator, run as its own process by the benchmarks (bench/lib.ts runLoad): reads a
 * LoadSpec as JSON on stdin, sends GET requests at a fixed rate and prints a LoadResult as JSON.
 *
 * Open loop and paced: request i is sent at start + i/rate whatever happened to the earlier ones,
 * on keep-alive connections, so a slow server meets the same arrivals a real one would (a
 * closed-loop client slows down with the server and hides its queueing). Latency is from the
 * moment a request is written to its last byte; `lagP99` says how late the generator itself was.
 *
 * `engine: "autocannon"` runs autocannon 9 with `overallRate` instead, for comparison. Its rate
 * limiter lets every connection send its share of a second back to back when the second starts
 * (a burst each second), and its coordinated-omission correction uses an expected interval of
 * Math.ceil(1 / rate) = 1 ms, which fills the histogram with made-up samples; so its percentiles
 * here come from the raw response times it reports per request, not from its histogram.
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { LoadResult, LoadSpec, percentile, rng } from './stats';

interface Sample {
  latency: number;
  status: number;
}

async function readStdin(): Promise<string> {
  let data = '';
  for await (const chunk of process.stdin) data += String(chunk);
  return data;
}

function summarize(samples: Sample[], errors: number, timeouts: number, seconds: number, lags: number[]): LoadResult {
  const ok = samples.filter((s) => s.status >= 200 && s.status < 300).map((s) => s.latency);
  return {
    requests: samples.length + errors,
    rps: samples.length / seconds,
    p50: percentile(ok, 50),
    p90: percentile(ok, 90),
    p99: percentile(ok, 99),
    max: ok.length ? ok.reduce((a, b) => Math.max(a, b), 0) : NaN,
    non2xx: samples.length - ok.length,
    errors,
    timeouts,
    lagP99: percentile(lags, 99),
  };
}

async function paced(spec: LoadSpec): Promise<LoadResult> {
  const url = new URL(spec.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: spec.connections ?? 64 });
  const random = rng(spec.seed ?? 1);
  const total = Math.max(1, Math.round(spec.rate * spec.duration));
  const interval = 1000 / spec.rate;
  const samples: Sample[] = [];
  const lags: number[] = [];
  let errors = 0;
  let timeouts = 0;
  let sent = 0;
  let finished = 0;
  const start = performance.now() + 20;

  await new Promise<void>((resolveAll) => {
    const done = () => {
      finished++;
      if (finished === total) resolveAll();
    };
    const fire = (intended: number) => {
      const path = spec.paths[Math.floor(random() * spec.paths.length)];
      const t = performance.now();
      lags.push(t - intended);
      const req = http.get({ agent, host: url.hostname, port: url.port, path, headers: spec.headers, timeout: 10_000 }, (res) => {
        res.on('data', () => undefined);
        res.on('end', () => {
          samples.push({ latency: performance.now() - t, status: res.statusCode ?? 0 });
          done();
        });
      });
      req.on('timeout', () => {
        timeouts++;
        req.destroy(new Error('timeout'));
      });
      req.on('error', () => {
        errors++;
        done();
      });
    };
    const tick = () => {
      const now = performance.now();
      while (sent < total && start + sent * interval <= now) fire(start + sent++ * interval);
      if (sent < total) setTimeout(tick, Math.max(0, start + sent * interval - performance.now()));
    };
    setTimeout(tick, 20);
  });
  agent.destroy();
  return summarize(samples, errors, timeouts, (total * interval) / 1000, lags);
}

async function withAutocannon(spec: LoadSpec): Promise<LoadResult> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const autocannon = require('autocannon') as (opts: Record<string, unknown>) => Promise<{ errors: number; timeouts: number; duration: number }> & {
    on(event: 'response', fn: (client: unknown, status: number, bytes: number, time: number) => void): void;
  };
  const random = rng(spec.seed ?? 1);
  const samples: Sample[] = [];
  const instance = autocannon({
    url: spec.url,
    connections: spec.connections ?? 32,
    overallRate: spec.rate,
    duration: spec.duration,
    headers: spec.headers,
    ignoreCoordinatedOmission: true,
    requests: [{ setupRequest: (req: Record<string, unknown>) => ({ ...req, path: spec.paths[Math.floor(random() * spec.paths.length)] }) }],
  });
  instance.on('response', (_client, status, _bytes, time) => samples.push({ latency: time, status }));
  const result = await instance;
  return summarize(samples, result.errors, result.timeouts, result.duration, [0]);
}

readStdin()
  .then(async (raw) => {
    const spec = JSON.parse(raw) as LoadSpec;
    const result = spec.engine === 'autocannon' ? await withAutocannon(spec) : await paced(spec);
    process.stdout.write(`${JSON.stringify(result)}\n`);
    process.exit(0);
  })
  .catch((err: unknown) => {
    process.stderr.write(`load generator failed: ${String(err)}\n`);
    process.exit(1);
  });
