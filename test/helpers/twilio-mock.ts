import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import http, { STATUS_CODES, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

/** One request as the mock received it; the form body is parsed so tests can assert on `To`, `Body`... */
export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  form: Record<string, string | string[]>;
}

export interface TwilioMock {
  /** Pass to createTwilioClient in place of https://api.twilio.com. */
  baseUrl: string;
  port: number;
  /** Every request, replays and injected failures included. */
  requests: RecordedRequest[];
  /** Distinct messages Twilio accepted: a replayed idempotency token does not count again. */
  delivered(): number;
  /** The next `count` message creates answer `status` with a Twilio error body (code defaults per status). */
  failNext(count: number, status: number, code?: number): void;
  stop(): Promise<void>;
}

const REPO_ROOT = path.resolve(__dirname, '../..');
const PRISM_BIN = path.join(REPO_ROOT, 'node_modules/.bin/prism');
const TWILIO_SPEC = path.join(REPO_ROOT, 'test/fixtures/twilio/twilio_api_v2010.json');
const PRISM_STARTUP_TIMEOUT_MS = 30_000;
const MESSAGE_CREATE_PATH = /^\/2010-04-01\/Accounts\/[^/]+\/Messages\.json$/;
const IDEMPOTENCY_HEADER = 'i-twilio-idempotency-token';

// Twilio's own codes for the statuses a fault test usually wants.
const DEFAULT_ERROR_CODE: Readonly<Record<number, number>> = { 401: 20003, 404: 20404, 429: 20429, 500: 20500, 503: 20503 };

interface ProxiedResponse {
  status: number;
  contentType: string;
  body: Buffer;
}

/**
 * Starts Prism on Twilio's OpenAPI spec behind a recording proxy that also plays the provider:
 * it replays the first answer for a repeated idempotency token and injects failures on demand.
 */
export async function startTwilioMock(): Promise<TwilioMock> {
  const prismPort = await freePort();
  const prism = await startPrism(prismPort);
  const provider = new MockProvider(prismPort);
  const proxy = http.createServer((req, res) => {
    provider.handle(req, res).catch((error: unknown) => answer(res, twilioError(502, undefined, String(error))));
  });
  const port = await listen(proxy);
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    port,
    requests: provider.requests,
    delivered: () => provider.accepted,
    failNext: (count, status, code) => provider.failNext(count, status, code),
    stop: async () => {
      proxy.closeAllConnections();
      await new Promise((resolve) => proxy.close(resolve));
      await stopProcess(prism);
    },
  };
}

class MockProvider {
  readonly requests: RecordedRequest[] = [];
  accepted = 0;
  private faults: { remaining: number; status: number; code?: number } = { remaining: 0, status: 500 };
  private readonly firstAnswers = new Map<string, Promise<ProxiedResponse>>();

  constructor(private readonly prismPort: number) {}

  failNext(count: number, status: number, code?: number): void {
    this.faults = { remaining: count, status, code };
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    this.requests.push(record(req, body));
    const isMessageCreate = req.method === 'POST' && MESSAGE_CREATE_PATH.test(pathOf(req));
    answer(res, isMessageCreate ? await this.createMessage(req, body) : await forward(this.prismPort, req, body));
  }

  /** Like a provider honouring idempotency: a token that already succeeded gets the same answer, nothing new is sent. */
  private async createMessage(req: IncomingMessage, body: Buffer): Promise<ProxiedResponse> {
    const token = req.headers[IDEMPOTENCY_HEADER];
    if (typeof token !== 'string') return this.attemptCreate(req, body);
    const earlier = this.firstAnswers.get(token);
    if (earlier) return earlier;
    const attempt = this.attemptCreate(req, body);
    this.firstAnswers.set(token, attempt);
    // Only a success is remembered: a failed attempt must stay retryable under the same token.
    const response = await attempt.catch((error: unknown) => {
      this.firstAnswers.delete(token);
      throw error;
    });
    if (!isSuccess(response)) this.firstAnswers.delete(token);
    return response;
  }

  private async attemptCreate(req: IncomingMessage, body: Buffer): Promise<ProxiedResponse> {
    if (this.faults.remaining > 0) {
      this.faults.remaining -= 1;
      return twilioError(this.faults.status, this.faults.code);
    }
    const response = await forward(this.prismPort, req, body);
    if (!isSuccess(response)) return response;
    this.accepted += 1;
    return withFreshSid(response);
  }
}

/** Prism always answers with the spec's example SID; a fresh one per message lets tests tell messages apart. */
function withFreshSid(response: ProxiedResponse): ProxiedResponse {
  const text = response.body.toString('utf8');
  const exampleSid = (JSON.parse(text) as { sid: string }).sid;
  const sid = `SM${randomBytes(16).toString('hex')}`;
  return { ...response, body: Buffer.from(text.replaceAll(exampleSid, sid)) };
}

/**
 * A Twilio-shaped error. Prism cannot produce these: the spec defines only 201 for creating a
 * message, so `Prefer: code=429` gets Prism's own 404 "status code not defined" instead.
 */
function twilioError(status: number, code = DEFAULT_ERROR_CODE[status], message = STATUS_CODES[status]): ProxiedResponse {
  const body = { code, message, more_info: code && `https://www.twilio.com/docs/errors/${code}`, status };
  return { status, contentType: 'application/json', body: Buffer.from(JSON.stringify(body)) };
}

function isSuccess(response: ProxiedResponse): boolean {
  return response.status >= 200 && response.status < 300;
}

function record(req: IncomingMessage, body: Buffer): RecordedRequest {
  const form: Record<string, string | string[]> = {};
  for (const [key, value] of new URLSearchParams(body.toString('utf8'))) {
    const previous = form[key];
    form[key] = previous === undefined ? value : [previous, value].flat();
  }
  return { method: req.method ?? '', path: pathOf(req), headers: req.headers, form };
}

function pathOf(req: IncomingMessage): string {
  return new URL(req.url ?? '/', 'http://mock').pathname;
}

function forward(port: number, req: IncomingMessage, body: Buffer): Promise<ProxiedResponse> {
  const { host: _host, connection: _connection, ...headers } = req.headers;
  return new Promise((resolve, reject) => {
    const upstream = http.request(
      { host: '127.0.0.1', port, method: req.method, path: req.url, headers: { ...headers, 'content-length': body.length } },
      (response) => {
        readBody(response)
          .then((responseBody) =>
            resolve({
              status: response.statusCode ?? 502,
              contentType: response.headers['content-type'] ?? 'application/json',
              body: responseBody,
            }),
          )
          .catch(reject);
      },
    );
    upstream.on('error', reject);
    upstream.end(body);
  });
}

function answer(res: ServerResponse, response: ProxiedResponse): void {
  res.writeHead(response.status, { 'content-type': response.contentType, 'content-length': response.body.length });
  res.end(response.body);
}

async function readBody(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

async function startPrism(port: number): Promise<ChildProcess> {
  const prism = spawn(PRISM_BIN, ['mock', '-p', String(port), '-h', '127.0.0.1', '-v', 'error', TWILIO_SPEC], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Kept only to explain a failed start; at error level Prism logs no request data.
  let output = '';
  const collect = (chunk: Buffer) => (output = (output + chunk.toString('utf8')).slice(-2_000));
  prism.stdout?.on('data', collect);
  prism.stderr?.on('data', collect);
  try {
    await waitUntilAnswering(port, prism);
    return prism;
  } catch (error) {
    await stopProcess(prism);
    throw new Error(`Prism did not start: ${(error as Error).message}\n${output}`);
  }
}

async function waitUntilAnswering(port: number, prism: ChildProcess): Promise<void> {
  const deadline = Date.now() + PRISM_STARTUP_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (prism.exitCode !== null) throw new Error(`exited with code ${prism.exitCode}`);
    if (await answers(port)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no answer on port ${port} within ${PRISM_STARTUP_TIMEOUT_MS} ms`);
}

/** Any HTTP answer means the server is up; Prism says 404 for the bare root. */
function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    http
      .get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
        res.resume();
        resolve(true);
      })
      .on('error', () => resolve(false));
  });
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const forceKill = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(forceKill);
}

async function freePort(): Promise<number> {
  const probe = http.createServer();
  const port = await listen(probe);
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

async function listen(server: http.Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return (server.address() as AddressInfo).port;
}
