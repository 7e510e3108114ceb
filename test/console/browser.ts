import { execSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import { type Browser, chromium, type Page } from 'playwright-core';

/**
 * Debian's Chromium for the console's browser tests (Playwright's own download is not reachable
 * here): installed with apt when the tests run as root on a fresh machine, else one line saying how.
 */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ROOT = path.resolve(__dirname, '..', '..');
/** Screenshots of failed steps (git-ignored). */
export const FAILURES_DIR = path.join(ROOT, 'test-results', 'console');
/**
 * The pages' screenshots: into docs/screenshots (the README's) with UPDATE_SCREENSHOTS=1, else
 * beside the failures, so that running the tests leaves the work tree as it was.
 */
export const SCREENSHOTS_DIR = process.env.UPDATE_SCREENSHOTS === '1' ? path.join(ROOT, 'docs', 'screenshots') : path.join(FAILURES_DIR, 'screenshots');

export function ensureChromium(): void {
  if (existsSync(CHROMIUM)) return;
  if (process.getuid?.() !== 0) {
    throw new Error(`no Chromium at ${CHROMIUM}: run "sudo apt-get install -y chromium fonts-noto-cjk" (or set CHROMIUM_PATH)`);
  }
  execSync('apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk', { stdio: 'inherit', timeout: 600_000 });
}

/**
 * Without the browser's own top-chrome pages: each new context opens a window, and Chromium
 * preloads the window's omnibox popup (a WebUI renderer, ~0.7 s of main-thread CPU traced beside a
 * console load, in about half the contexts even without the preload): the browser starting its own
 * UI, which a user opening the console in a running browser does not wait for, and which the
 * console's pages never use.
 */
const ARGS = ['--no-sandbox', '--disable-features=PreloadTopChromeWebUI,WebUIOmniboxPopup,WebUIOmniboxFullPopup,WebUIOmniboxAimPopup'];

export function launch(): Promise<Browser> {
  ensureChromium();
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS });
}

/** Runs a step; when it fails, the page as it was is kept in test-results/console/<name>.png. */
export async function step<T>(page: Page, name: string, run: () => Promise<T>): Promise<T> {
  const started = Date.now();
  try {
    const result = await run();
    if (process.env.CONSOLE_TEST_TIMES) console.log(`${name}: ${Date.now() - started} ms`);
    return result;
  } catch (err) {
    mkdirSync(FAILURES_DIR, { recursive: true });
    await page.screenshot({ path: path.join(FAILURES_DIR, `${name}.png`), fullPage: true }).catch(() => undefined);
    throw err;
  }
}

/**
 * The serious and critical accessibility violations axe-core finds on the page once it has settled:
 * a drawer still fading in or a table blurred while it reloads is half-transparent, and axe would
 * measure the contrast of a frame in between (a CI run failed on exactly that).
 */
export async function seriousViolations(page: Page): Promise<string[]> {
  await page.waitForFunction("document.querySelector('.ant-spin-blur, .ant-spin-spinning') === null");
  await page.evaluate(`Promise.all(document.getAnimations()
    .filter((a) => a.effect && a.effect.getComputedTiming().endTime !== Infinity)
    .map((a) => a.finished.catch(() => undefined)))`);
  const { violations } = await new AxeBuilder({ page }).analyze();
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
}

/** Fails the test when the page, settled, has a serious or critical accessibility violation; `what` names the page in the failure. */
export async function expectAccessible(page: Page, what: string): Promise<void> {
  const problems = await seriousViolations(page);
  expect({ page: what, problems }).toEqual({ page: what, problems: [] });
}
