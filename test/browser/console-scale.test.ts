/**
 * The console at scale, in a real browser: a 1,000-key account (the first page in a few
 * dozen requests, paging, page size), the audit log newest first across more than 1,000
 * events, and a throttled ListResourceTags (retried with backoff; what still fails is
 * shown by name, never as "no tags"). Measured figures are printed as test diagnostics.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateAliasCommand, CreateKeyCommand, type KMSClient } from '@aws-sdk/client-kms';
import type { Page } from 'playwright-core';
import { startTestServer, TEST_ACCOUNT_ID, type TestServer } from '../helpers/server.js';
import {
  launchBrowser,
  newPage,
  screenshot,
  signIn,
  startAll,
  type TestBrowser,
} from './browser.js';

const KEYS = 1000;
const ALIASED = 300;

/** Create `n` keys, `limit` at a time; returns their IDs in creation order. */
async function createKeys(client: KMSClient, n: number, limit = 8): Promise<string[]> {
  const ids = new Array<string>(n);
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      const out = await client.send(
        new CreateKeyCommand({
          Description: `scale key ${i}`,
          ...(i % 10 === 0 ? { Tags: [{ TagKey: 'batch', TagValue: String(i / 10) }] } : {}),
        }),
      );
      ids[i] = out.KeyMetadata?.KeyId as string;
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
  return ids;
}

/** POSTs to the API (every KMS, STS and admin call), by X-Amz-Target or "STS". */
function apiCalls(page: Page, origin: string): string[] {
  const calls: string[] = [];
  page.on('request', (r) => {
    if (r.method() === 'POST' && r.url() === `${origin}/`)
      calls.push(r.headers()['x-amz-target'] ?? 'STS');
  });
  return calls;
}

const settled = (page: Page, rows: number) =>
  page.waitForFunction(
    (n) =>
      document.querySelectorAll('tr[data-key-id]').length === n &&
      document.querySelectorAll('td[data-tags="loading"], tr[data-key-id] [aria-label="loading"]')
        .length === 0,
    rows,
    { timeout: 90_000 },
  );

describe('console at scale', { timeout: 420_000 }, () => {
  let big: TestServer | undefined;
  let throttled: TestServer | undefined;
  let browser: TestBrowser | undefined;
  let ids: string[] = [];
  let aliasOf: Map<string, string>;
  const seedDir = mkdtempSync(join(tmpdir(), 'keyhold-console-scale-'));

  before(async () => {
    const seed = join(seedDir, 'seed.json');
    writeFileSync(
      seed,
      JSON.stringify({
        accounts: [
          {
            id: TEST_ACCOUNT_ID,
            keys: Array.from({ length: 10 }, (_, i) => ({
              aliases: [`alias/throttled-${i}`],
              description: `throttled ${i}`,
              tags: { n: String(i) },
            })),
          },
        ],
      }),
    );
    await startAll([
      async () => void (big = await startTestServer()),
      // Real quotas, ListResourceTags at one request in each 10 s: more than a call's whole
      // retry budget (4 retries, at most 7.5 s of backoff), so some tags must stay failed.
      async () =>
        void (throttled = await startTestServer({
          env: {
            KEYHOLD_QUOTAS: 'on',
            KEYHOLD_QUOTA_RPS: 'ListResourceTags=0.1',
            KEYHOLD_SEED_FILE: seed,
          },
        })),
      async () => void (browser = await launchBrowser()),
    ]);
    if (big === undefined) throw new Error('not started');
    const t0 = Date.now();
    const first = await createKeys(big.client, 1, 1);
    const middle = await createKeys(big.client, KEYS - 2);
    const last = await createKeys(big.client, 1, 1);
    ids = [...first, ...middle, ...last];
    aliasOf = new Map();
    for (let i = 0; i < ALIASED; i++) {
      const keyId = ids[i * 3] as string;
      const name = `alias/scale-${String(i).padStart(3, '0')}`;
      await big.client.send(new CreateAliasCommand({ AliasName: name, TargetKeyId: keyId }));
      aliasOf.set(keyId, name);
    }
    console.log(`# seeded ${KEYS} keys and ${ALIASED} aliases in ${Date.now() - t0} ms`);
  });
  after(async () => {
    await Promise.allSettled([browser?.close(), big?.stop(), throttled?.stop()]);
    rmSync(seedDir, { recursive: true, force: true });
  });

  it('shows the first page of a 1,000-key account in at most 30 requests', async (t) => {
    const server = big as TestServer;
    const page = await newPage(browser as TestBrowser);
    await signIn(page, server.url);
    await settled(page, 10);
    const calls = apiCalls(page, server.url);
    const start = Date.now();
    await page.goto(`${server.url}/console/keys`);
    await page.locator('tr[data-key-id]').first().waitFor();
    const firstRows = Date.now() - start;
    await settled(page, 10);
    const complete = Date.now() - start;
    t.diagnostic(
      `1,000 keys: first rows after ${firstRows} ms, page complete after ${complete} ms, ` +
        `${calls.length} requests (${[...new Set(calls)].map((c) => `${c.replace('TrentService.', '')}×${calls.filter((x) => x === c).length}`).join(', ')})`,
    );
    assert.ok(calls.length <= 30, `${calls.length} requests: ${calls.join(', ')}`);
    assert.equal(calls.filter((c) => c === 'TrentService.ListKeys').length, 1);
    assert.equal(calls.filter((c) => c === 'TrentService.DescribeKey').length, 10);
    assert.equal(calls.filter((c) => c === 'TrentService.ListResourceTags').length, 10);
    assert.ok(complete < 15_000, `the first page took ${complete} ms`);
    assert.equal(await page.locator('tr[data-key-id]').count(), 10);
    assert.match(await page.getByTestId('page-range').innerText(), /Page 1: keys 1–10/);
    // The page is ListKeys' first page (key ID order), with aliases and tags filled in.
    const shown = await page
      .locator('tr[data-key-id]')
      .evaluateAll((rs) => rs.map((r) => r.getAttribute('data-key-id') as string));
    assert.deepEqual(shown, [...ids].sort().slice(0, 10));
    for (const id of shown) {
      const row = page.locator(`tr[data-key-id="${id}"]`);
      const text = await row.innerText();
      assert.match(text, new RegExp(aliasOf.get(id) ?? '—'));
      assert.match(text, /scale key \d+/);
    }
    const height = await page.evaluate(() => document.documentElement.scrollHeight);
    t.diagnostic(`page height ${height} px`);
    assert.ok(height < 2000, `page is ${height} px tall`);
    await screenshot(page, 'keys-1000');
    assert.deepEqual(page.errors, []);
  });

  it('pages forward and back, and changes the page size', async () => {
    const server = big as TestServer;
    const page = await newPage(browser as TestBrowser);
    await signIn(page, server.url);
    await settled(page, 10);
    const sorted = [...ids].sort();
    const shownIds = () =>
      page
        .locator('tr[data-key-id]')
        .evaluateAll((rs) => rs.map((r) => r.getAttribute('data-key-id') as string));
    const calls = apiCalls(page, server.url);
    await page.getByRole('button', { name: 'Next page' }).click();
    await page.getByTestId('page-range').filter({ hasText: 'Page 2: keys 11–20' }).waitFor();
    await settled(page, 10);
    assert.deepEqual(await shownIds(), sorted.slice(10, 20));
    // The next page costs one ListKeys plus its rows; aliases are not listed again.
    assert.equal(calls.filter((c) => c === 'TrentService.ListAliases').length, 0);
    assert.equal(calls.length, 21, calls.join(', '));
    await page.getByRole('button', { name: 'Previous page' }).click();
    await page.getByTestId('page-range').filter({ hasText: 'Page 1: keys 1–10' }).waitFor();
    await settled(page, 10);
    assert.deepEqual(await shownIds(), sorted.slice(0, 10));
    assert.ok(await page.getByRole('button', { name: 'Previous page' }).isDisabled());

    await page.getByLabel('Keys per page').selectOption('50');
    await page.getByTestId('page-range').filter({ hasText: 'keys 1–50' }).waitFor();
    await settled(page, 50);
    assert.deepEqual(await shownIds(), sorted.slice(0, 50));
    // The setting is kept for the next visit.
    await page.reload();
    await settled(page, 50);
    assert.equal(await page.getByLabel('Keys per page').inputValue(), '50');
    await page.getByLabel('Keys per page').selectOption('10');
    await settled(page, 10);

    // The filter searches this page; aliases of keys on other pages are offered as links.
    const far = sorted.slice(10).find((id) => aliasOf.has(id)) as string;
    await page.getByLabel('Filter').fill(aliasOf.get(far) as string);
    await page.getByText('No keys match.').waitFor();
    const link = page.getByTestId('elsewhere').getByRole('link', { name: aliasOf.get(far) });
    await link.click();
    await page.waitForURL(new RegExp(`/console/keys/${far}$`));
    assert.deepEqual(page.errors, []);
  });

  it('shows the audit log newest first, truly, and pages back through 1,000+ events', async (t) => {
    const server = big as TestServer;
    const page = await newPage(browser as TestBrowser);
    await signIn(page, server.url);
    await page.getByRole('link', { name: 'Audit log' }).click();
    // Results are there on open (the last hour), newest first.
    await page.locator('[data-testid="audit-count"][data-search="1"]').waitFor();
    const times = () =>
      page
        .locator('table.audit tbody tr')
        .evaluateAll((rs) => rs.map((r) => r.getAttribute('data-event-time') as string));
    const opened = await times();
    assert.equal(opened.length, 100);
    assert.deepEqual(opened, [...opened].sort().reverse());

    await page.getByLabel('Event name').fill('CreateKey');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.locator('[data-testid="audit-count"][data-search="2"]').waitFor();
    const rows = page.locator('table.audit tbody tr');
    await screenshot(page, 'audit-newest-first');
    // The newest CreateKey is the last key created; the first key is not on the first page.
    assert.match(await rows.first().innerText(), new RegExp(ids.at(-1) as string));
    assert.doesNotMatch(
      await page.locator('table.audit').innerText(),
      new RegExp(ids[0] as string),
    );
    const started = Date.now();
    let clicks = 0;
    const older = page.getByRole('button', { name: 'Load older events' });
    while ((await older.count()) > 0) {
      const before = await rows.count();
      await older.click();
      await page.waitForFunction(
        (n) => document.querySelectorAll('table.audit tbody tr').length > n,
        before,
      );
      clicks++;
      assert.ok(clicks < 20);
    }
    t.diagnostic(
      `${await rows.count()} CreateKey events in ${clicks + 1} pages, ${Date.now() - started} ms`,
    );
    const all = await rows.evaluateAll((rs) =>
      rs.map((r) => ({
        id: r.getAttribute('data-event-id') as string,
        time: r.getAttribute('data-event-time') as string,
        text: (r as HTMLElement).innerText,
      })),
    );
    assert.equal(all.length, KEYS);
    assert.equal(new Set(all.map((e) => e.id)).size, KEYS);
    const order = all.map((e) => e.time);
    assert.deepEqual(order, [...order].sort().reverse());
    assert.match(all.at(-1)?.text ?? '', new RegExp(ids[0] as string));
    assert.match(
      await page.getByTestId('audit-count').innerText(),
      /The 1000 newest matching events, newest first\./,
    );
    assert.deepEqual(page.errors, []);
  });

  it('retries throttled ListResourceTags and shows what still failed, by name', async (t) => {
    const server = throttled as TestServer;
    const page = await newPage(browser as TestBrowser);
    const responses: { target: string; keyId: string; status: number }[] = [];
    page.on('response', (r) => {
      const target = r.request().headers()['x-amz-target'];
      if (target === undefined || !target.startsWith('TrentService.')) return;
      let keyId = '';
      try {
        keyId = (JSON.parse(r.request().postData() ?? '{}') as { KeyId?: string }).KeyId ?? '';
      } catch {
        // not a JSON body: not a KMS call
      }
      responses.push({ target, keyId, status: r.status() });
    });
    await signIn(page, server.url);
    await settled(page, 10);
    const tagCalls = responses.filter((r) => r.target === 'TrentService.ListResourceTags');
    const throttledCalls = tagCalls.filter((r) => r.status === 400).length;
    t.diagnostic(
      `${tagCalls.length} ListResourceTags requests for 10 rows, ${throttledCalls} throttled`,
    );
    // Retried: more requests than rows, and every failure was retried to the budget (5 tries).
    assert.ok(tagCalls.length > 10, `${tagCalls.length} ListResourceTags requests`);
    const failedCells = page.locator('td[data-tags="failed"]');
    const failed = await failedCells.count();
    assert.ok(failed >= 1 && failed <= 9, `${failed} rows failed`);
    for (const row of await page.locator('tr[data-key-id]').all()) {
      const keyId = (await row.getAttribute('data-key-id')) as string;
      const statuses = tagCalls.filter((r) => r.keyId === keyId).map((r) => r.status);
      if ((await row.locator('td[data-tags]').getAttribute('data-tags')) === 'failed')
        assert.deepEqual(statuses, [400, 400, 400, 400, 400], keyId);
      else assert.equal(statuses.at(-1), 200, keyId);
    }
    for (const cell of await failedCells.all()) {
      assert.equal(
        await cell.locator('.cell-error').getAttribute('data-error-name'),
        'ThrottlingException',
      );
      assert.notEqual((await cell.innerText()).trim(), '—');
    }
    const alert = page.getByTestId('row-failures');
    assert.match(await alert.innerText(), /ThrottlingException/);
    assert.match(await alert.innerText(), new RegExp(`the tags of ${failed} key`));
    // Filtering by tag says which rows it could not search.
    await page.getByLabel('Filter').fill('n=');
    assert.match(
      await page.getByTestId('unsearched').innerText(),
      new RegExp(`The tags of ${failed} key`),
    );
    await page.getByLabel('Filter').fill('');
    await screenshot(page, 'keys-throttled');

    // After the bucket has refilled, "Retry failed" loads at least one more.
    await new Promise((r) => setTimeout(r, 10_500));
    await page.getByRole('button', { name: 'Retry failed' }).click();
    await settled(page, 10);
    const after = await failedCells.count();
    t.diagnostic(`after "Retry failed": ${after} of ${failed} still failed`);
    assert.ok(after < failed, `${after} still failed of ${failed}`);
    // Nothing broke in the page (the browser logs each HTTP 400 as "Failed to load resource").
    assert.deepEqual(
      page.errors.filter((e) => !e.startsWith('Failed to load resource')),
      [],
    );
  });
});
