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
import net from 'node:net';
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

/**
 * One keep-alive HTTP/1.1 connection carrying one request at a time. The response is read only as
 * far as its status line, its length and its last byte: Node's http client cost the generator
 * ~0.8 ms of CPU per request here, as much as the API it measured, on the same two cores.
 */
class Connection {
  readonly socket: net.Socket;
  private current: { done: (status: number) => void; fail: (err: Error) => void } | null = null;
  private head: Buffer | null = null;
  private status = 0;
  /** body bytes still to come (Content-Length) */
  private remaining = 0;
  /** a chunked body so far */
  private chunked: Buffer | null = null;
  private chunkAt = 0;

  constructor(host: string, port: number, private readonly onGone: (c: Connection) => void) {
    this.socket = net.connect({ host, port, noDelay: true });
    this.socket.on('data', (chunk: Buffer) => this.read(chunk));
    let closed = false;
    const gone = (err?: Error) => {
      if (closed) return;
      closed = true;
      this.socket.destroy();
      this.onGone(this);
      this.finish(undefined, err ?? new Error('connection closed'));
    };
    this.socket.on('error', gone);
    this.socket.on('close', () => gone());
  }

  send(request: string, done: (status: number) => void, fail: (err: Error) => void): void {
    this.current = { done, fail };
    this.socket.write(request);
  }

  private finish(status?: number, err?: Error): void {
    const current = this.current;
    this.current = null;
    this.head = this.chunked = null;
    if (!current) return;
    if (err) current.fail(err);
    else current.done(status!);
  }

  private read(chunk: Buffer): void {
    if (this.remaining === 0 && this.chunked === null) {
      // The head: the status line and the headers, up to the blank line.
      const head = this.head ? Buffer.concat([this.head, chunk]) : chunk;
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) {
        this.head = head;
        return;
      }
      const text = head.toString('latin1', 0, end);
      this.status = Number(text.slice(9, 12));
      const length = /\r\ncontent-length: *(\d+)/i.exec(text);
      const body = head.subarray(end + 4);
      this.head = null;
      if (length) this.remaining = Number(length[1]);
      else if (/\r\ntransfer-encoding: *chunked/i.test(text)) {
        this.chunked = Buffer.alloc(0);
        this.chunkAt = 0;
      } else if (this.status !== 204 && this.status !== 304) return this.finish(undefined, new Error('response without a length'));
      chunk = body;
    }
    if (this.chunked !== null) return this.readChunked(chunk);
    this.remaining -= chunk.length;
    if (this.remaining <= 0) {
      this.remaining = 0;
      this.finish(this.status);
    }
  }

  /** A chunked body ends with its zero-size chunk (no trailers). */
  private readChunked(chunk: Buffer): void {
    const body = (this.chunked = Buffer.concat([this.chunked!, chunk]));
    for (;;) {
      const lineEnd = body.indexOf('\r\n', this.chunkAt);
      if (lineEnd < 0) return;
      const size = parseInt(body.toString('latin1', this.chunkAt, lineEnd), 16);
      if (body.length < lineEnd + 2 + size + 2) return;
      if (size === 0) return this.finish(this.status);
      this.chunkAt = lineEnd + 2 + size + 2;
    }
  }
}

async function paced(spec: LoadSpec): Promise<LoadResult> {
  const url = new URL(spec.url);
  const host = url.hostname;
  const port = Number(url.port);
  const maxConnections = spec.connections ?? 64;
  const headerLines = Object.entries({ host: url.host, ...spec.headers }).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  const requests = spec.paths.map((p) => `GET ${p} HTTP/1.1\r\n${headerLines}\r\n`);
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
  const cpuBefore = process.cpuUsage();
  const connections = new Set<Connection>();
  const idle: Connection[] = [];
  // Requests that found every connection busy wait here, their clocks running (as in Node's agent).
  const waiting: { request: string; t: number }[] = [];
  const inFlight = new Map<Connection, number>();

  await new Promise<void>((resolveAll) => {
    // One sweep for the 10 s timeout instead of a timer per request.
    const sweep = setInterval(() => {
      const late = performance.now() - 10_000;
      for (const [c, t] of inFlight) {
        if (t < late) {
          timeouts++;
          c.socket.destroy(new Error('timeout'));
        }
      }
    }, 500);
    const done = () => {
      finished++;
      if (finished < total) return;
      clearInterval(sweep);
      resolveAll();
    };
    const gone = (c: Connection) => {
      connections.delete(c);
      const i = idle.indexOf(c);
      if (i >= 0) idle.splice(i, 1);
      inFlight.delete(c);
      if (waiting.length > 0) dispatch(waiting.shift()!);
    };
    const dispatch = (item: { request: string; t: number }) => {
      let c = idle.pop();
      if (!c) {
        if (connections.size >= maxConnections) return void waiting.push(item);
        c = new Connection(host, port, gone);
        connections.add(c);
      }
      const conn = c;
      inFlight.set(conn, item.t);
      conn.send(item.request, (status) => {
        samples.push({ latency: performance.now() - item.t, status });
        inFlight.delete(conn);
        idle.push(conn);
        const next = waiting.shift();
        if (next) dispatch(next);
        done();
      }, () => {
        errors++;
        done();
      });
    };
    const fire = (intended: number) => {
      const t = performance.now();
      lags.push(t - intended);
      dispatch({ request: requests[Math.floor(random() * requests.length)], t });
    };
    const tick = () => {
      const now = performance.now();
      while (sent < total && start + sent * interval <= now) fire(start + sent++ * interval);
      if (sent < total) setTimeout(tick, Math.max(0, start + sent * interval - performance.now()));
    };
    setTimeout(tick, 20);
  });
  const cpu = process.cpuUsage(cpuBefore);
  for (const c of connections) c.socket.destroy();
  return { ...summarize(samples, errors, timeouts, (total * interval) / 1000, lags), cpuMsPerRequest: (cpu.user + cpu.system) / 1000 / total };
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
