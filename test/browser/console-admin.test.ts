/**
 * The console in a real browser, beyond keys: the audit log (filters, chain status, a
 * tampered chain), "why was this denied?", an API error shown by name, sign-in through
 * AssumeRole, aliases, custom key stores, and the phone viewport without sideways overflow.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from '../../src/storage/sqlite/driver.js';
import { CreateAliasCommand, CreateKeyCommand, EncryptCommand } from '@aws-sdk/client-kms';
import { callAdmin } from '../../src/cli/admin-commands.js';
import {
  startTestServer,
  TEST_ACCESS_KEY_ID,
  TEST_ACCOUNT_ID,
  TEST_REGION,
  TEST_SECRET_ACCESS_KEY,
  type TestServer,
} from '../helpers/server.js';
import { launchBrowser, newPage, screenshot, signIn, type TestBrowser } from './browser.js';

const ACCT = TEST_ACCOUNT_ID;

describe('console: audit, explain, errors, phone', { timeout: 240_000 }, () => {
  let server: TestServer;
  let browser: TestBrowser;
  let carol: { arn: string; id: string; secret: string };
  const admin = (op: string, input: Record<string, unknown>) =>
    callAdmin(op, input, {
      endpointUrl: server.url,
      region: TEST_REGION,
      credentials: { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY },
    });

  before(async () => {
    [server, browser] = await Promise.all([startTestServer(), launchBrowser()]);
    const u = (await admin('CreateUser', { AccountId: ACCT, UserName: 'carol' })) as {
      User: { Arn: string };
    };
    const k = (await admin('CreateAccessKey', { UserArn: u.User.Arn })) as {
      AccessKey: { AccessKeyId: string; SecretAccessKey: string };
    };
    carol = { arn: u.User.Arn, id: k.AccessKey.AccessKeyId, secret: k.AccessKey.SecretAccessKey };
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('filters the audit log by key and event, and shows the chain verified', async () => {
    const k = await server.client.send(new CreateKeyCommand({ Description: 'audited' }));
    const keyId = k.KeyMetadata?.KeyId as string;
    for (let i = 0; i < 3; i++)
      await server.client.send(
        new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from(`secret ${i}`) }),
      );
    const page = await newPage(browser);
    await signIn(page, server.url);
    await page.getByRole('link', { name: 'Audit log' }).click();
    const chain = page.getByTestId('chain-status');
    await chain.locator('[data-valid="true"]').waitFor();
    assert.match(await chain.innerText(), /Verified: all \d+ events are intact/);

    // The last hour is shown on open, newest first.
    await page.locator('[data-testid="audit-count"][data-search="1"]').waitFor();
    assert.ok((await page.locator('table.audit tbody tr').count()) >= 4);
    const search = async (n: number) => {
      await page.getByRole('button', { name: 'Search' }).click();
      await page.locator(`[data-testid="audit-count"][data-search="${n}"]`).waitFor();
    };
    await page.getByLabel('Key (ID, alias or ARN)').fill(keyId);
    await page.getByLabel('Event name').fill('Encrypt');
    await search(2);
    const rows = page.locator('table.audit tbody tr');
    assert.equal(await rows.count(), 3);
    const names = await rows.evaluateAll((rs) => rs.map((r) => r.getAttribute('data-event-name')));
    assert.deepEqual(names, ['Encrypt', 'Encrypt', 'Encrypt']);
    assert.match(await rows.first().innerText(), new RegExp(keyId));
    await screenshot(page, 'audit');

    // By principal and event: carol never called anything, so nothing matches.
    await page.getByLabel('Key (ID, alias or ARN)').fill('');
    await page.getByLabel('Principal ARN').fill(carol.arn);
    await page.getByLabel('Event name').fill('');
    await search(3);
    assert.equal(await page.getByTestId('audit-count').innerText(), 'No events match.');
    // A time window in the future excludes everything.
    await page.getByLabel('Principal ARN').fill('');
    await page.getByLabel('From').fill('2099-01-01T00:00');
    await search(4);
    assert.equal(await page.getByTestId('audit-count').innerText(), 'No events match.');
    assert.deepEqual(page.errors, []);
  });

  it('explains why a request is denied', async () => {
    const k = await server.client.send(new CreateKeyCommand({ Description: 'explain' }));
    const page = await newPage(browser);
    await signIn(page, server.url);
    await page.getByRole('link', { name: 'Why denied?' }).click();
    await page.getByLabel('Principal ARN').fill(carol.arn);
    await page.getByLabel('Action').fill('kms:Decrypt');
    await page.getByLabel('Key ID or key ARN').fill(k.KeyMetadata?.KeyId as string);
    await page.getByRole('button', { name: 'Explain' }).click();
    const result = page.getByTestId('explain-result');
    await result.waitFor();
    assert.equal(await result.getAttribute('data-allowed'), 'false');
    assert.match(await result.innerText(), /implicit deny/);
    assert.match(await result.innerText(), /Enable IAM User Permissions|Statement\[0\]/);
    await screenshot(page, 'explain');

    // An unknown key: the admin API's error, by name.
    await page.getByLabel('Key ID or key ARN').fill(randomUUID());
    await page.getByRole('button', { name: 'Explain' }).click();
    await page.locator('[data-error-name="NoSuchEntity"]').waitFor();
  });

  it('shows an API error by its AWS name (a user without permission)', async () => {
    const page = await newPage(browser);
    await signIn(page, server.url, { id: carol.id, secret: carol.secret });
    assert.equal(await page.getByTestId('caller-arn').innerText(), carol.arn);
    // Admin pages are not offered to a non-root caller...
    assert.equal(await page.getByRole('link', { name: 'Audit log' }).count(), 0);
    const err = page.locator('[data-error-name="AccessDeniedException"]');
    await err.waitFor();
    assert.match(await err.innerText(), /You are not allowed to do this/);
    assert.match(await err.innerText(), /not authorized to perform: kms:ListKeys/);
    await screenshot(page, 'error-access-denied');
    // ...and the admin API refuses them when asked directly.
    await page.goto(`${server.url}/console/audit`);
    await page.locator('[data-error-name="AccessDenied"]').first().waitFor();
  });

  it('refuses wrong credentials at sign-in with the AWS error name', async () => {
    const page = await newPage(browser);
    await page.goto(`${server.url}/console/`);
    await page.getByLabel('Access key ID').fill(TEST_ACCESS_KEY_ID);
    await page.getByLabel('Secret access key').fill('wrong-secret-wrong-secret-wrong-secret00');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('[data-error-name="SignatureDoesNotMatch"]').waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.length), 0);
    await screenshot(page, 'sign-in-error');
  });

  it('signs in by assuming a role; credentials stay in sessionStorage only', async () => {
    const trust = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { AWS: carol.arn }, Action: 'sts:AssumeRole' }],
    });
    const role = (await admin('CreateRole', {
      AccountId: ACCT,
      RoleName: 'ConsoleViewer',
      AssumeRolePolicyDocument: trust,
    })) as { Role: { Arn: string } };
    const page = await newPage(browser);
    await page.goto(`${server.url}/console/`);
    await page.getByLabel('Access key ID').fill(carol.id);
    await page.getByLabel('Secret access key').fill(carol.secret);
    await page.getByText('Session token or assume a role').click();
    await page.getByLabel('Role ARN to assume').fill(role.Role.Arn);
    await page.getByLabel('Role session name').fill('console-test');
    await screenshot(page, 'sign-in');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByTestId('caller-arn').waitFor();
    assert.equal(
      await page.getByTestId('caller-arn').innerText(),
      `arn:aws:sts::${ACCT}:assumed-role/ConsoleViewer/console-test`,
    );
    const stored = await page.evaluate(() => ({
      session: Object.keys(sessionStorage),
      local: localStorage.length,
      cookies: document.cookie,
    }));
    assert.deepEqual(stored, { session: ['keyhold.console.session'], local: 0, cookies: '' });
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.length), 0);
  });

  it('lists aliases and custom key stores', async () => {
    const k = await server.client.send(new CreateKeyCommand({}));
    const alias = `alias/page-${randomUUID().slice(0, 8)}`;
    await server.client.send(
      new CreateAliasCommand({ AliasName: alias, TargetKeyId: k.KeyMetadata?.KeyId }),
    );
    const page = await newPage(browser);
    await signIn(page, server.url);
    await page.getByRole('link', { name: 'Aliases' }).click();
    await page.locator('td[data-label="Alias"]', { hasText: alias }).waitFor();
    // Create one through the form; a second time it already exists.
    const second = `alias/second-${randomUUID().slice(0, 8)}`;
    await page.getByLabel('Alias name').fill(second);
    await page.getByLabel('Target key ID', { exact: true }).fill(k.KeyMetadata?.KeyId as string);
    await page.getByRole('button', { name: 'Create alias' }).click();
    await page.locator('td[data-label="Alias"]', { hasText: second }).waitFor();
    await page.getByLabel('Alias name').fill(second);
    await page.getByLabel('Target key ID', { exact: true }).fill(k.KeyMetadata?.KeyId as string);
    await page.getByRole('button', { name: 'Create alias' }).click();
    await page.locator('[data-error-name="AlreadyExistsException"]').waitFor();
    await screenshot(page, 'aliases');
    await page.getByRole('link', { name: 'Key stores' }).click();
    // Until custom key stores exist on this server, the page says so instead of failing.
    await page.locator('[data-testid="keystores-unsupported"], table.list').first().waitFor();
    assert.equal(await page.locator('.error').count(), 0);
    await screenshot(page, 'key-stores');
  });

  it('fits a phone screen (375×667) without horizontal overflow; every control is labelled', async () => {
    const k = await server.client.send(
      new CreateKeyCommand({
        Description: 'a key with a rather long description to wrap on a phone',
        Tags: [{ TagKey: 'department', TagValue: 'finance-and-accounting-emea' }],
      }),
    );
    const page = await newPage(browser);
    await page.setViewportSize({ width: 375, height: 667 });
    await signIn(page, server.url);
    const pages: [string, string, string][] = [
      ['keys', '/console/keys', 'Keys'],
      ['key-detail', `/console/keys/${k.KeyMetadata?.KeyId}`, 'General configuration'],
      ['create', '/console/create', 'Step 1 of 5: Alias and description'],
      ['aliases', '/console/aliases', 'Aliases'],
      ['audit', '/console/audit', 'Chain verification'],
      ['explain', '/console/explain', 'Why was this denied?'],
      ['key-stores', '/console/key-stores', 'Custom key stores'],
    ];
    for (const [name, path, heading] of pages) {
      await page.goto(server.url + path);
      await page.getByRole('heading', { name: heading }).first().waitFor();
      await page.waitForLoadState('networkidle');
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(width <= 375, `${name} is ${width}px wide on a 375px screen`);
      // Every form control has a label (or an aria-label) screen readers can announce.
      const unlabeled = await page.evaluate(() =>
        [...document.querySelectorAll('input, select, textarea')]
          .filter((el) => {
            const c = el as HTMLInputElement;
            return (c.labels?.length ?? 0) === 0 && !c.getAttribute('aria-label');
          })
          .map((el) => el.outerHTML.slice(0, 80)),
      );
      assert.deepEqual(unlabeled, [], name);
      // Every button and link has a name.
      const nameless = await page.evaluate(() =>
        [...document.querySelectorAll('button, a[href]')]
          .filter((el) => (el.textContent ?? '').trim() === '' && !el.getAttribute('aria-label'))
          .map((el) => el.outerHTML.slice(0, 80)),
      );
      assert.deepEqual(nameless, [], name);
      await screenshot(page, `phone-${name}`);
    }
  });

  it('shows a log reset recorded by --audit-reset, not a plain ✓', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'keyhold-console-reset-'));
    const sqlite = { KEYHOLD_STORAGE_URL: '' };
    try {
      const first = await startTestServer({ dataDir, env: sqlite });
      await first.client.send(new CreateKeyCommand({ Description: 'before the reset' }));
      await first.stop();
      const db = new Database(join(dataDir, 'audit.db'));
      db.exec('DELETE FROM audit_events; DELETE FROM audit_head;');
      db.close();
      const reset = await startTestServer({
        dataDir,
        env: { ...sqlite, KEYHOLD_AUDIT_RESET: '1' },
      });
      try {
        const page = await newPage(browser);
        await signIn(page, reset.url);
        await page.goto(`${reset.url}/console/audit`);
        const warning = page.getByTestId('chain-reset');
        await warning.waitFor();
        assert.match(
          await warning.innerText(),
          /The log was reset at event 1 .*events were deleted.*up to event \d+ of the old log/s,
        );
        await screenshot(page, 'audit-reset');
      } finally {
        await reset.stop();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('shows a failed chain verification when the stored log was altered', async () => {
    const db = new Database(join(server.dataDir, 'audit.db'));
    try {
      db.prepare(
        "UPDATE audit_events SET body = replace(body, 'Encrypt', 'Decrypt') WHERE event_name = 'Encrypt'",
      ).run();
    } finally {
      db.close();
    }
    const page = await newPage(browser);
    await signIn(page, server.url);
    await page.goto(`${server.url}/console/audit`);
    const bad = page.getByTestId('chain-status').locator('[data-valid="false"]');
    await bad.waitFor();
    assert.match(await bad.innerText(), /Verification FAILED at event \d+: chain hash mismatch/);
    await screenshot(page, 'audit-tampered');
  });
});
