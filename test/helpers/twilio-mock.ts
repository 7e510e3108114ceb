import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import http, { STATUS_CODES, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { smsSegments } from '../../src/domain/sms-segments';
import { freePort } from '../../src/stack';

/** One request as the mock received it; the form body is parsed so tests can assert on `To`, `Body`... */
export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  form: Record<string, string | string[]>;
}

/** A message the mock accepted, as its list endpoint reports it. */
export interface AcceptedMessage {
  sid: string;
  to: string;
  body: string;
  /** "sent" once handed on (the default), "queued" while held (see holdInQueue). */
  status: 'queued' | 'sent';
  dateCreated: Date;
  dateSent: Date | null;
}

export interface TwilioMock {
  /** Pass to createTwilioClient in place of https://api.twilio.com. */
  baseUrl: string;
  port: number;
  /** Every request, injected failures included. */
  requests: RecordedRequest[];
  /** Messages accepted. As at Twilio, every create that gets through is one more: there is no idempotency key. */
  delivered(): number;
  /** What was accepted, oldest first; the list endpoint answers from this. */
  accepted(): readonly AcceptedMessage[];
  /** Resolves once `count` messages have been accepted in all. */
  waitForDelivered(count: number, timeoutMs?: number): Promise<void>;
  /** The next `count` message creates answer `status` with a Twilio error body (code defaults per status). */
  failNext(count: number, status: number, code?: number): void;
  /** The next accepted message is recorded at once but answered only after `ms`: a crash or a client timeout can fall in between. */
  delayNextAnswer(ms: number): void;
  /** The next message is recorded at once and its connection dropped without an answer. */
  loseNextAnswer(): void;
  /**
   * The next create waits `ms` in front of the provider before it is handled, as at a slow provider:
   * accepted (or failed, with failNext) even when the client has given up by then.
   */
  delayNextRequest(ms: number): void;
  /** Resolves once no create is in progress, so a late acceptance has landed or a delayed answer gone out. */
  idle(): Promise<void>;
  /** The next `count` accepted messages stay queued, without a date sent, as Twilio holds throttled ones. */
  holdInQueue(count: number): void;
  /**
   * From now on, creates above `perSecond` (messages, or SMS segments) answer 429 (20429), as a
   * provider's rate limit does: a token bucket holding `burstSeconds` (default 1) seconds' worth.
   */
  limitRate(perSecond: number, counts: 'segments' | 'messages', burstSeconds?: number): void;
  /** Creates answered 429 by that rate limit. */
  rateLimited(): number;
  stop(): Promise<void>;
}

const REPO_ROOT = path.resolve(__dirname, '../..');
const PRISM_BIN = path.join(REPO_ROOT, 'node_modules/.bin/prism');
const TWILIO_SPEC = path.join(REPO_ROOT, 'test/fixtures/twilio/twilio_api_v2010.json');
const PRISM_STARTUP_TIMEOUT_MS = 30_000;
const MESSAGES_PATH = /^\/2010-04-01\/Accounts\/[^/]+\/Messages\.json$/;

// Twilio's own codes for the statuses a fault test usually wants.
const DEFAULT_ERROR_CODE: Readonly<Record<number, number>> = { 401: 20003, 404: 20404, 429: 20429, 500: 20500, 503: 20503 };

interface ProxiedResponse {
  status: number;
  contentType: string;
  body: Buffer;
}

/**
 * Starts Prism on Twilio's OpenAPI spec behind a recording proxy that also plays the provider: it
 * keeps what it accepted for the list endpoint and injects failures and delays on demand. Like
 * Twilio's Messages API it ignores an `I-Twilio-Idempotency-Token` header: each create is a message.
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
    delivered: () => provider.messages.length,
    accepted: () => provider.messages,
    waitForDelivered: (count, timeoutMs = 30_000) => provider.waitForDelivered(count, timeoutMs),
    failNext: (count, status, code) => provider.failNext(count, status, code),
    delayNextAnswer: (ms) => (provider.answerDelayMs = ms),
    loseNextAnswer: () => (provider.loseAnswer = true),
    delayNextRequest: (ms) => (provider.requestDelayMs = ms),
    idle: () => provider.idle(),
    holdInQueue: (count) => (provider.held = count),
    limitRate: (perSecond, counts, burstSeconds = 1) => (provider.rate = new TokenBucket(perSecond, counts, burstSeconds)),
    rateLimited: () => provider.rate?.refused ?? 0,
    stop: async () => {
      proxy.closeAllConnections();
      await new Promise((resolve) => proxy.close(resolve));
      await stopProcess(prism);
    },
  };
}

class MockProvider {
  readonly requests: RecordedRequest[] = [];
  readonly messages: AcceptedMessage[] = [];
  answerDelayMs = 0;
  requestDelayMs = 0;
  loseAnswer = false;
  held = 0;
  rate: TokenBucket | undefined;
  private faults: { remaining: number; status: number; code?: number } = { remaining: 0, status: 500 };
  private readonly creating = new Set<Promise<unknown>>();
  private waiters: { count: number; resolve: () => void }[] = [];

  constructor(private readonly prismPort: number) {}

  failNext(count: number, status: number, code?: number): void {
    this.faults = { remaining: count, status, code };
  }

  waitForDelivered(count: number, timeoutMs: number): Promise<void> {
    if (this.messages.length >= count) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the mock accepted ${this.messages.length} of ${count} messages in ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({ count, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }

  async idle(): Promise<void> {
    while (this.creating.size > 0) await Promise.allSettled(this.creating);
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    this.requests.push(record(req, body));
    const onMessages = MESSAGES_PATH.test(pathOf(req));
    if (onMessages && req.method === 'POST') {
      const creating = this.createMessage(req, body);
      this.creating.add(creating);
      const response = await creating.finally(() => this.creating.delete(creating));
      return response ? answer(res, response) : void res.socket?.destroy();
    }
    if (onMessages && req.method === 'GET') return answer(res, await this.listMessages(req, body));
    answer(res, await forward(this.prismPort, req, body));
  }

  /**
   * The list endpoint, answered from what was really accepted (Prism would answer its example):
   * Prism still checks the request against the spec first. Filters: To and DateSent>, newest first.
   */
  private async listMessages(req: IncomingMessage, body: Buffer): Promise<ProxiedResponse> {
    const checked = await forward(this.prismPort, req, body);
    if (!isSuccess(checked)) return checked;
    const query = new URL(req.url ?? '/', 'http://mock').searchParams;
    const to = query.get('To');
    const sentAfter = query.get('DateSent>');
    const pageSize = Number(query.get('PageSize') ?? 50);
    const matching = this.messages
      .filter((m) => !to || m.to === to)
      .filter((m) => !sentAfter || (m.dateSent !== null && m.dateSent.getTime() >= Date.parse(sentAfter)))
      .reverse()
      .slice(0, pageSize);
    const page = JSON.parse(checked.body.toString('utf8')) as Record<string, unknown>;
    const template = (page.messages as Record<string, unknown>[])[0] ?? {};
    const messages = matching.map((m) => ({
      ...template, sid: m.sid, to: m.to, body: m.body, status: m.status, direction: 'outbound-api',
      date_created: rfc2822(m.dateCreated), date_sent: m.dateSent && rfc2822(m.dateSent), date_updated: rfc2822(m.dateSent ?? m.dateCreated),
      error_code: null, error_message: null,
    }));
    const uri = req.url ?? '';
    const listed = { ...page, messages, page: 0, page_size: pageSize, start: 0, end: Math.max(messages.length - 1, 0), uri, first_page_uri: uri, next_page_uri: null, previous_page_uri: null };
    return { status: 200, contentType: 'application/json', body: Buffer.from(JSON.stringify(listed)) };
  }

  /** One new message per create that gets through; null when its answer is to be lost. */
  private async createMessage(req: IncomingMessage, body: Buffer): Promise<ProxiedResponse | null> {
    const requestDelay = this.requestDelayMs;
    this.requestDelayMs = 0;
    await sleep(requestDelay);
    if (this.faults.remaining > 0) {
      this.faults.remaining -= 1;
      return twilioError(this.faults.status, this.faults.code);
    }
    if (this.rate && !this.rate.take(String(record(req, body).form.Body ?? ''))) return twilioError(429);
    const answerDelay = this.answerDelayMs;
    const lose = this.loseAnswer;
    [this.answerDelayMs, this.loseAnswer] = [0, false];
    const response = await forward(this.prismPort, req, body);
    if (!isSuccess(response)) return response;
    const accepted = this.accept(record(req, body).form);
    await sleep(answerDelay);
    return lose ? null : asAccepted(response, accepted);
  }

  private accept(form: Record<string, string | string[]>): AcceptedMessage {
    const now = new Date();
    const held = this.held > 0;
    if (held) this.held -= 1;
    const message: AcceptedMessage = {
      sid: `SM${randomBytes(16).toString('hex')}`, to: String(form.To), body: String(form.Body),
      status: held ? 'queued' : 'sent', dateCreated: now, dateSent: held ? null : now,
    };
    this.messages.push(message);
    for (const waiter of this.waiters.filter((w) => this.messages.length >= w.count)) waiter.resolve();
    this.waiters = this.waiters.filter((w) => this.messages.length < w.count);
    return message;
  }
}

/** The provider's rate: refills `perSecond` units a second, up to `burstSeconds` seconds' worth. */
class TokenBucket {
  refused = 0;
  private readonly capacity: number;
  private tokens: number;
  private at = performance.now();

  constructor(private readonly perSecond: number, private readonly counts: 'segments' | 'messages', burstSeconds: number) {
    this.capacity = perSecond * burstSeconds;
    this.tokens = this.capacity;
  }

  take(body: string): boolean {
    const now = performance.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.at) / 1000) * this.perSecond);
    this.at = now;
    const cost = this.counts === 'segments' ? Math.max(1, smsSegments(body).segments) : 1;
    if (this.tokens < cost) {
      this.refused += 1;
      return false;
    }
    this.tokens -= cost;
    return true;
  }
}

/**
 * Prism always answers with the spec's example; the answer carries what was really sent, with a
 * fresh SID per message so tests can tell messages apart. Like Twilio, the create answer says
 * "queued" and has no date sent yet.
 */
function asAccepted(response: ProxiedResponse, message: AcceptedMessage): ProxiedResponse {
  const example = JSON.parse(response.body.toString('utf8')) as { sid: string } & Record<string, unknown>;
  const text = JSON.stringify({
    ...example, to: message.to, body: message.body, status: 'queued', date_created: rfc2822(message.dateCreated), date_sent: null,
  }).replaceAll(example.sid, message.sid);
  return { ...response, body: Buffer.from(text) };
}

/** Twilio's date format: "Thu, 24 Aug 2023 05:01:45 +0000". */
function rfc2822(date: Date): string {
  return date.toUTCString().replace('GMT', '+0000');
}

/**
 * A Twilio-shaped error. Prism cannot produce these: the spec defines only 201 for creating a
 * message, so `Prefer: code=429` gets Prism's own 404 "status code not defined" instead.
 */
function twilioError(status: number, code = DEFAULT_ERROR_CODE[status], message = STATUS_CODES[status]): ProxiedResponse {
  const body = { code, message, more_info: code && `https://www.twilio.com/docs/errors/${code}`, status };
  return { status, contentType: 'application/json', body: Buffer.from(JSON.stringify(body)) };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

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
    throw new Error(`Prism did not start: ${(error as Error).message}\n${output}`, { cause: error });
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

async function listen(server: http.Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return (server.address() as AddressInfo).port;
}
