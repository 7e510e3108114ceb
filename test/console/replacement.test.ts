import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { Db } from '../../src/db/client';
import { createTestDatabase } from '../helpers/db';
import { vehicleWorkflows } from '../helpers/outreach-workflows';
import { createLogin } from '../helpers/staff-logins';
import { type Api, buildApi, seedCustomer, seedStore } from '../messaging/fixtures';
import { expectAccessible, launch, SCREENSHOTS_DIR, step } from './browser';

/**
 * The console's replacement pre-screening in Debian's Chromium, against the API in process with a
 * test database; the vehicle workflows are the API test's fake (the real activity opens the call,
 * and an update can be made to fail as during an outage or to be refused for good). CR
 * specialists and a manager read why each candidate was screened and decide; two of them with the
 * list open at once get one decision and a clear message; the workflow's refusal (409) and an
 * outage (503, the pass stands, the retry opens the call) read as zh-CN messages; a consultant has
 * no such page. Every view passes axe-core without serious violations; a failed step leaves its
 * screenshot in test-results/console/.
 */
jest.mock('@fastify/swagger-ui', () => ({ __esModule: true, default: async () => undefined }));
jest.setTimeout(180_000);

const PASSWORD = 'console-password-1';
const DESKTOP = { width: 1366, height: 768 };
const DAY = 86_400_000;

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let db: Db;
let api: Api;
let browser: Browser;
let workflows: ReturnType<typeof vehicleWorkflows>;
let storeId: string;
const contexts: BrowserContext[] = [];
const staff: Record<string, string> = {};

/** A vehicle delivered about three years and three months ago, screened in its fourth year: a pending candidate. */
async function candidate(forecastKm: number) {
  const { deliveryId, workflowId, phone } = await seedCustomer(db, storeId, { deliveredAt: new Date(Date.now() - 1_200 * DAY) });
  const row = await db.replacementCandidate.create({
    data: { storeId, deliveryId, cycle: 'year-4', facts: { ageMonths: 39, model: 'Model Y', lastServiceOn: '2026-05-20', forecastKm } },
  });
  const { vin } = await db.vehicle.findFirstOrThrow({ where: { deliveries: { some: { id: deliveryId } } } });
  return { ...row, workflowId, phone, vin };
}

async function signedIn(login: string): Promise<Page> {
  const context = await browser.newContext({ viewport: DESKTOP, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
  contexts.push(context);
  const page = await context.newPage();
  await step(page, `replacement-sign-in-${login}`, async () => {
    await page.goto(`${api.baseUrl}/console/`);
    await page.getByLabel('登录名').fill(login);
    await page.getByLabel('密码').fill(PASSWORD);
    await page.getByRole('button', { name: /登\s*录/ }).click();
    await page.getByRole('heading', { name: '我的任务' }).waitFor();
  });
  return page;
}

/** The pre-screening page from the menu, with the candidate's row shown. */
async function openList(page: Page, vin: string) {
  await page.getByRole('link', { name: '置换初筛' }).click();
  await page.getByRole('heading', { name: '置换初筛' }).waitFor();
  const row = page.getByRole('row').filter({ hasText: vin });
  await row.waitFor();
  return row;
}

async function decide(page: Page, vin: string, decision: string, note?: string) {
  await page.getByRole('button', { name: `${decision} ${vin}` }).click();
  const dialog = page.getByRole('dialog');
  await dialog.waitFor();
  if (note) await dialog.getByLabel('备注').fill(note);
  await dialog.getByRole('button', { name: /提\s*交/ }).click();
  await dialog.waitFor({ state: 'hidden' });
}

beforeAll(async () => {
  // Vite cannot run inside Jest's module sandbox: the build (when the sources changed) is a child process.
  const built = promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/console-build.ts'], { cwd: path.resolve(__dirname, '..', '..') });
  t = await createTestDatabase();
  db = t.db;
  workflows = vehicleWorkflows(db);
  // Plain http on 127.0.0.1: the session cookie is not marked Secure.
  api = await buildApi(db, workflows.client, { PUBLIC_BASE_URL: 'http://127.0.0.1:3000' });
  const seeded = await seedStore(db);
  storeId = seeded.store.id;
  await db.store.update({
    where: { id: storeId },
    data: { replacementCriteria: { enabled: true, screeningWeekday: 1, minAgeMonths: 36, maxAgeMonths: 60, models: ['Model Y'], lastServiceWithinMonths: 12, minMileageKm: 50_000, callWindowDays: 7 } },
  });
  const rows = {
    cr1: seeded.cr,
    cr2: await db.staff.create({ data: { storeId, externalId: 'cr2', name: '钱芳', role: 'cr_specialist' } }),
    manager: await db.staff.create({ data: { storeId, externalId: 'm', name: '张经理', role: 'manager' } }),
    consultant: seeded.consultant,
  };
  for (const [login, row] of Object.entries(rows)) {
    await createLogin(db, login, PASSWORD, [row.id]);
    staff[login] = row.id;
  }
  await built;
  browser = await launch();
});

afterAll(async () => {
  for (const context of contexts) await context.close().catch(() => undefined);
  await browser?.close();
  await api?.close();
  await t?.drop();
});

test('a CR specialist reads why each vehicle was screened (customer phone masked) and passes one: the consultant\'s call opens', async () => {
  const c = await candidate(61_000);
  const page = await signedIn('cr1');
  await step(page, 'replacement-list', async () => {
    const row = await openList(page, c.vin);
    const text = await row.textContent();
    expect(text).toContain('3 年 3 个月');
    expect(text).toContain('61,000 km');
    expect(text).toContain('2026-05-20');
    expect(text).toContain('里程 ≥ 50,000 km');
    expect(text).toContain('12 个月内保养过');
    expect(text).toContain(`${c.phone.slice(0, -8)}****${c.phone.slice(-4)}`);
    expect(text).not.toContain(c.phone);
    await expectAccessible(page, 'replacement list');
    mkdirSync(SCREENSHOTS_DIR, { recursive: true });
    await page.screenshot({ path: path.join(SCREENSHOTS_DIR, 'replacement.png') });
  });
  await step(page, 'replacement-pass', async () => {
    await page.getByRole('button', { name: `转顾问邀约 ${c.vin}` }).click();
    await page.getByRole('dialog').getByText('将生成顾问的邀约任务').waitFor();
    await expectAccessible(page, 'replacement decision dialog');
    await page.getByRole('dialog').getByLabel('备注').fill('客户有换购意向，周末可到店');
    await page.getByRole('dialog').getByRole('button', { name: /提\s*交/ }).click();
    await page.getByText('已生成顾问邀约任务').waitFor();
    await page.getByRole('row').filter({ hasText: c.vin }).waitFor({ state: 'detached' });
    const decided = await db.replacementCandidate.findUniqueOrThrow({ where: { id: c.id } });
    expect(decided).toMatchObject({ status: 'passed', decidedById: staff.cr1, note: '客户有换购意向，周末可到店', followUpId: expect.any(String) });
    // The decided list shows it with its decision.
    await page.getByText('已转顾问邀约', { exact: true }).click();
    await page.getByRole('row').filter({ hasText: c.vin }).filter({ hasText: '客户有换购意向' }).waitFor();
  });
  await step(page, 'replacement-english', async () => {
    await page.getByRole('button', { name: 'English' }).click();
    await page.getByRole('heading', { name: 'Replacement pre-screening' }).waitFor();
  });
});

test('two CR specialists with the same list open: the first decision holds, the second is told someone decided and the list refreshes', async () => {
  const c = await candidate(70_000);
  const [first, second] = [await signedIn('cr1'), await signedIn('cr2')];
  await openList(first, c.vin);
  await openList(second, c.vin);
  await step(first, 'replacement-first-decides', async () => {
    await decide(first, c.vin, '无意向', '客户表示两年内不换车');
    await first.getByText('已保存').waitFor();
  });
  await step(second, 'replacement-second-refused', async () => {
    // The second page still shows the candidate as pending: its pass meets the API's 409.
    await decide(second, c.vin, '转顾问邀约');
    await second.getByRole('alert').filter({ hasText: '该候选已有结论（可能已由他人处理），列表已刷新' }).waitFor();
    await second.getByRole('row').filter({ hasText: c.vin }).waitFor({ state: 'detached' });
    await expectAccessible(second, 'replacement: someone decided first');
  });
  expect(await db.replacementCandidate.findUniqueOrThrow({ where: { id: c.id } })).toMatchObject({ status: 'no_intent', decidedById: staff.cr1, followUpId: null });
  expect(workflows.updates.filter((u) => u.workflowId === c.workflowId)).toEqual([]);
});

test('a pass the vehicle workflow refuses for good: the 409 says so, nothing is recorded and the candidate waits for another decision', async () => {
  const c = await candidate(80_000);
  workflows.refuse(c.workflowId, new WorkflowUpdateFailedError('update failed',
    ApplicationFailure.nonRetryable('this ownership started before the years were planned; it plans them from its next yearly run', 'YearsNotPlanned')));
  const page = await signedIn('cr2');
  await openList(page, c.vin);
  await step(page, 'replacement-refused', async () => {
    await decide(page, c.vin, '转顾问邀约');
    await page.getByRole('alert').filter({ hasText: '无法生成顾问邀约任务，未做记录，候选仍待初筛' }).waitFor();
    await page.getByRole('row').filter({ hasText: c.vin }).getByRole('button', { name: `资料有误 ${c.vin}` }).waitFor();
    await expectAccessible(page, 'replacement: call refused');
  });
  expect(await db.replacementCandidate.findUniqueOrThrow({ where: { id: c.id } })).toMatchObject({ status: 'pending', decidedById: null });
});

test('no answer at all asks for a repeat; an outage while passing: the 503 says the pass stands, and the retry opens the one call', async () => {
  const c = await candidate(90_000);
  const page = await signedIn('manager');
  await openList(page, c.vin);
  await step(page, 'replacement-no-answer', async () => {
    // The network fails before the API is reached: unknown whether anything was recorded, so send it again.
    await page.route('**/decision', (route) => route.abort('connectionfailed'), { times: 1 });
    await decide(page, c.vin, '转顾问邀约');
    await page.getByRole('alert').filter({ hasText: '系统暂时不可用，请稍后重新提交' }).waitFor();
    expect((await db.replacementCandidate.findUniqueOrThrow({ where: { id: c.id } })).status).toBe('pending');
  });
  await step(page, 'replacement-outage', async () => {
    workflows.failNextUpdate();
    await decide(page, c.vin, '转顾问邀约');
    const alert = page.getByRole('alert').filter({ hasText: '已转顾问邀约，但系统暂时不可用' });
    await alert.waitFor();
    await expectAccessible(page, 'replacement: outage');
    expect(await db.replacementCandidate.findUniqueOrThrow({ where: { id: c.id } })).toMatchObject({ status: 'passed', followUpId: null });
    await alert.getByRole('button', { name: '重试生成任务' }).click();
    await page.getByText('已生成顾问邀约任务').waitFor();
  });
  const passed = await db.replacementCandidate.findUniqueOrThrow({ where: { id: c.id } });
  expect(passed).toMatchObject({ status: 'passed', decidedById: staff.manager, followUpId: expect.any(String) });
  expect(await db.followUp.count({ where: { deliveryId: c.deliveryId, stepKey: 'replacement-year-4' } })).toBe(1);
});

test('a consultant has no pre-screening in the menu, and its address is refused', async () => {
  const page = await signedIn('consultant');
  await step(page, 'replacement-consultant', async () => {
    expect(await page.getByRole('link', { name: '置换初筛' }).count()).toBe(0);
    await page.goto(`${api.baseUrl}/console/#/replacement`);
    await page.getByText('无法打开此记录').waitFor();
    expect((await page.request.get(`${api.baseUrl}/v1/stores/${storeId}/replacement-candidates`)).status()).toBe(403);
    await expectAccessible(page, 'replacement refused');
  });
});
