/**
 * Browser test harness: Debian's chromium driven by playwright-core, headless, with a fresh
 * profile per test file. A missing chromium fails the test (CI installs it), never skips.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { TEST_ACCESS_KEY_ID, TEST_REGION, TEST_SECRET_ACCESS_KEY } from '../helpers/server.js';

export const CHROMIUM = process.env['KEYHOLD_CHROMIUM'] ?? '/usr/bin/chromium';
export const SCREENSHOTS = join('test-output', 'screenshots');

const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-dev-shm-usage',
];

export interface TestBrowser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Launch chromium with a fresh user-data-dir; one per test file. */
export async function launchBrowser(): Promise<TestBrowser> {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `chromium not found at ${CHROMIUM}: the browser tests need Debian's chromium ` +
        '(apt-get install chromium) or KEYHOLD_CHROMIUM pointing at a Chromium binary',
    );
  const profile = mkdtempSync(join(tmpdir(), 'keyhold-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1280, height: 800 },
    timeout: 60_000,
  });
  context.setDefaultTimeout(15_000);
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** A new tab (its own sessionStorage, so signed out) that fails the test on page errors. */
export async function newPage(b: TestBrowser): Promise<Page & { errors: string[] }> {
  const page = (await b.context.newPage()) as Page & { errors: string[] };
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') page.errors.push(m.text());
  });
  return page;
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** Sign in through the form; resolves when the caller's ARN is shown. */
export async function signIn(
  page: Page,
  baseUrl: string,
  creds = { id: TEST_ACCESS_KEY_ID, secret: TEST_SECRET_ACCESS_KEY },
  path = '/console/',
): Promise<void> {
  await page.goto(baseUrl + path);
  await page.getByLabel('Region').fill(TEST_REGION);
  await page.getByLabel('Access key ID').fill(creds.id);
  await page.getByLabel('Secret access key').fill(creds.secret);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('caller-arn').waitFor();
}

/** KMS/admin targets of the requests a page sends (to prove a call was or was not made). */
export function recordTargets(page: Page): string[] {
  const targets: string[] = [];
  page.on('request', (r) => {
    const t = r.headers()['x-amz-target'];
    if (t !== undefined) targets.push(t);
  });
  return targets;
}

/**
 * Start things side by side; once all have settled, hand each started one to `keep` (so
 * after() can close it) and only then throw the first failure, so a before() hook that
 * fails halfway leaves nothing running.
 */
export async function startAll(starts: (() => Promise<void>)[]): Promise<void> {
  const results = await Promise.allSettled(starts.map((f) => f()));
  for (const r of results) if (r.status === 'rejected') throw r.reason;
}
