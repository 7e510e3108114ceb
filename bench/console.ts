/**
 * The staff console's first load on localhost: a signed-in CR specialist opens /console/ in a
 * fresh browser (empty cache) and the inbox is interactive (its table rendered, the main thread
 * quiet); and the JavaScript the page needs before that, gzipped — what index.html loads (the
 * shell) and what the first inbox view adds. Debian's Chromium, as the tests use it.
 *
 *   node --import tsx bench/console.ts [--quick]
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { consoleIsStale, ensureConsoleBuilt } from '../scripts/console-build';
import { CONSOLE_DIST } from '../src/api/console';
import { createDb } from '../src/db/client';
import { hashPassword } from '../src/services/sessions';
import { ensureChromium, launch } from '../test/console/browser';
import { generate, storeIdOf } from './generate';
import { BenchArgs, log, main, ms, percentile, Row, startBenchStack, verdict } from './lib';

const GOAL_TTI_MS = 1000;
const GOAL_INITIAL_KB = 300;
const PASSWORD = 'bench-console-password';

const gzipKb = (files: string[]) => files.reduce((sum, f) => sum + gzipSync(readFileSync(path.join(CONSOLE_DIST, f))).length, 0) / 1024;

export async function runConsole(args: BenchArgs): Promise<{ rows: Row[]; details: string }> {
  const stale = consoleIsStale();
  const buildMs = await ensureConsoleBuilt();
  if (stale) log(`console: built in ${(buildMs / 1000).toFixed(1)} s`);
  ensureChromium();
  const runs = args.quick ? 3 : 7;
  const bs = await startBenchStack('console', args, { skip: ['worker'] });
  // Chromium as the console's tests run it, without its own top-chrome pages (test/console/browser.ts):
  // the load competes with the API and nothing else.
  const browser = await launch();
  try {
    // A store with its open follow-ups around now (the CR specialist's inbox has a page of survey
    // calls due today to render, as at work), signed in as one of its CR specialists.
    const now = new Date();
    const gen = await generate(bs.databaseUrl, { seed: args.seed, stores: 1, staffPerStore: 8, historyFollowUps: 0, historyFrom: now, historyTo: now, openFollowUps: 2000, now });
    const cr = gen.staff.get(storeIdOf(0))!.find((p) => p.role === 'cr_specialist')!;
    const db = createDb(bs.databaseUrl, 1);
    try {
      const login = await db.staffLogin.create({ data: { login: 'bench-cr', passwordHash: await hashPassword(PASSWORD) } });
      await db.staff.update({ where: { id: cr.id }, data: { loginId: login.id } });
    } finally {
      await db.$disconnect();
    }
    const base = `http://${bs.stack.env.API_HOST ?? '127.0.0.1'}:${bs.stack.env.API_PORT}`;
    const signIn = await fetch(`${base}/v1/auth/sign-in`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ login: 'bench-cr', password: PASSWORD }) });
    const cookie = /^([^=]+)=([^;]+)/.exec(signIn.headers.get('set-cookie') ?? '');
    if (!cookie) throw new Error(`sign-in: ${signIn.status}`);

    const indexHtml = readFileSync(path.join(CONSOLE_DIST, 'index.html'), 'utf8');
    const initial = [...indexHtml.matchAll(/\/console\/(assets\/[^"]+\.js)/g)].map((m) => m[1]);
    // Ant Design's static stylesheet (console/src/main.tsx): not JavaScript, but bytes the first view waits for too.
    const styles = [...indexHtml.matchAll(/\/console\/(assets\/[^"]+\.css)/g)].map((m) => m[1]);
    const times: number[] = [];
    const mainThread: number[] = [];
    let inboxFiles: string[] = [];
    let transfer = { requests: 0, kb: 0 };
    let timeline = '';
    let inboxRows = 0;
    for (let i = 0; i < runs; i++) {
      // A new context each time: an empty cache, as a first visit.
      const context = await browser.newContext({ viewport: { width: 1366, height: 768 }, locale: 'zh-CN' });
      await context.addCookies([{ name: cookie[1], value: cookie[2], url: base }]);
      const page = await context.newPage();
      // The page's main-thread work (parse, script, style, layout) in CPU time: a figure the machine's load inflates far less than the wall clock.
      const cdp = await context.newCDPSession(page);
      await cdp.send('Performance.enable');
      const scripts = new Set<string>();
      // Every request until the inbox is interactive, with the bytes on the wire (bodies as sent, compressed or not).
      const sizes: Promise<number>[] = [];
      page.on('response', (r) => {
        const m = /\/console\/(assets\/[^?]+\.js)$/.exec(r.url());
        if (m) scripts.add(m[1]);
        sizes.push(r.finished().then(() => r.request().sizes()).then((s) => s.responseBodySize + s.responseHeadersSize, () => 0));
      });
      // Interactive: the table is there, no spinner, and the main thread has a frame to spare. The
      // page notes that moment itself: Playwright's waitFor polls with a back-off reaching 500 ms, so
      // timing it from outside adds up to half a second of polling to what a user sees.
      await page.addInitScript(`(() => {
        const observer = new MutationObserver(() => {
          if (!document.querySelector('.ant-table-tbody') || document.querySelector('.ant-spin-spinning')) return;
          observer.disconnect();
          requestAnimationFrame(() => setTimeout(() => (window.huifangInteractive = performance.now()), 0));
        });
        observer.observe(document, { childList: true, subtree: true, attributes: true, attributeFilter: ['class'] });
      })()`);
      await page.goto(`${base}/console/`, { waitUntil: 'commit' });
      const tti = (await (await page.waitForFunction('window.huifangInteractive', null, { polling: 'raf' })).jsonValue()) as number;
      times.push(tti);
      const { metrics } = await cdp.send('Performance.getMetrics');
      mainThread.push(1000 * (metrics.find((m) => m.name === 'TaskDuration')?.value ?? 0));
      // When the page's own requests started and ended: what waits on what before the inbox shows.
      timeline = await page.evaluate<string>(`performance.getEntriesByType('resource')
        .filter((e) => e.name.includes('/v1/') || /\\/assets\\/(index|initial|Tasks)-/.test(e.name))
        .map((e) => e.name.replace(/^.*\\/(v1\\/[^?]*|assets\\/[^-]*)[^.?]*(\\.css)?.*$/, '$1$2') + ' ' + Math.round(e.startTime) + '-' + Math.round(e.responseEnd))
        .join(', ')`);
      inboxRows = await page.locator('.ant-table-tbody tr.ant-table-row').count();
      transfer = { requests: sizes.length, kb: (await Promise.all(sizes)).reduce((a, b) => a + b, 0) / 1024 };
      inboxFiles = [...scripts];
      await context.close();
    }
    const p50 = percentile(times, 50);
    const initialKb = gzipKb(initial);
    const inboxKb = gzipKb(inboxFiles);
    const rows: Row[] = [
      { benchmark: 'console', figure: `first load to an interactive inbox, localhost, empty cache (median of ${runs})`, value: ms(p50), baseline: '', goal: `< ${GOAL_TTI_MS} ms`, verdict: verdict(p50 < GOAL_TTI_MS) },
      { benchmark: 'console', figure: `main-thread CPU to the interactive inbox (median of ${runs})`, value: ms(percentile(mainThread, 50)), baseline: '', goal: '', verdict: 'info' },
      { benchmark: 'console', figure: 'initial JavaScript, gzipped (what index.html loads: the shell; the sign-in form and each page load after it)', value: `${initialKb.toFixed(0)} KB`, baseline: '', goal: `< ${GOAL_INITIAL_KB} KB`, verdict: verdict(initialKb < GOAL_INITIAL_KB) },
      { benchmark: 'console', figure: 'initial CSS, gzipped (Ant Design\'s static stylesheet)', value: `${gzipKb(styles).toFixed(0)} KB`, baseline: '', goal: '', verdict: 'info' },
      { benchmark: 'console', figure: 'JavaScript of the first inbox view, gzipped (initial + the lazy inbox page)', value: `${inboxKb.toFixed(0)} KB`, baseline: '', goal: '', verdict: 'info' },
      { benchmark: 'console', figure: 'requests and bytes transferred to an interactive inbox', value: `${transfer.requests} requests, ${transfer.kb.toFixed(0)} KB`, baseline: '', goal: '', verdict: 'info' },
    ];
    const details = `First loads: ${times.map((t) => ms(t)).join(', ')} (the inbox showing ${inboxRows} tasks). Initial files: ${initial.length}; first inbox view: ${inboxFiles.length} files. ECharts and exceljs load only with the dashboard and an export. Last load's requests (start-end ms): ${timeline}.`;
    return { rows, details };
  } finally {
    await browser.close();
    await bs.stop();
  }
}

if (require.main === module) main('Staff console', runConsole);
