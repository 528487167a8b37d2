/**
 * The console in a real browser, key pages: sign in and the key list, the create wizard end
 * to end (then checked through the SDK), the wizard by keyboard only, the policy edit round
 * trip, enable / disable, schedule / cancel deletion. Screenshots: test-output/screenshots/.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  GetKeyPolicyCommand,
  ListAliasesCommand,
  ListResourceTagsCommand,
} from '@aws-sdk/client-kms';
import type { Page } from 'playwright-core';
import { callAdmin } from '../../src/cli/admin-commands.js';
import {
  startTestServer,
  TEST_ACCESS_KEY_ID,
  TEST_ACCOUNT_ID,
  TEST_REGION,
  TEST_SECRET_ACCESS_KEY,
  type TestServer,
} from '../helpers/server.js';
import {
  launchBrowser,
  newPage,
  recordTargets,
  screenshot,
  signIn,
  type TestBrowser,
} from './browser.js';

const ACCT = TEST_ACCOUNT_ID;

/** The policy the AWS console writes for one admin (may delete) and one user, symmetric key. */
function awsConsolePolicy(admin: string, user: string): unknown {
  return {
    Id: 'key-consolepolicy-3',
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'Enable IAM User Permissions',
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${ACCT}:root` },
        Action: 'kms:*',
        Resource: '*',
      },
      {
        Sid: 'Allow access for Key Administrators',
        Effect: 'Allow',
        Principal: { AWS: admin },
        Action: [
          'kms:Create*',
          'kms:Describe*',
          'kms:Enable*',
          'kms:List*',
          'kms:Put*',
          'kms:Update*',
          'kms:Revoke*',
          'kms:Disable*',
          'kms:Get*',
          'kms:Delete*',
          'kms:TagResource',
          'kms:UntagResource',
          'kms:ScheduleKeyDeletion',
          'kms:CancelKeyDeletion',
          'kms:RotateKeyOnDemand',
        ],
        Resource: '*',
      },
      {
        Sid: 'Allow use of the key',
        Effect: 'Allow',
        Principal: { AWS: user },
        Action: [
          'kms:Encrypt',
          'kms:Decrypt',
          'kms:ReEncrypt*',
          'kms:GenerateDataKey*',
          'kms:DescribeKey',
        ],
        Resource: '*',
      },
      {
        Sid: 'Allow attachment of persistent resources',
        Effect: 'Allow',
        Principal: { AWS: user },
        Action: ['kms:CreateGrant', 'kms:ListGrants', 'kms:RevokeGrant'],
        Resource: '*',
        Condition: { Bool: { 'kms:GrantIsForAWSResource': 'true' } },
      },
    ],
  };
}

/** Press Tab until the focused element matches `selector` (and `text`), at most 40 times. */
async function tabTo(page: Page, selector: string, text?: string): Promise<void> {
  for (let i = 0; i < 40; i++) {
    const hit = await page.evaluate(
      ([s, t]) => {
        const el = document.activeElement;
        return (el?.matches(s as string) ?? false) && (t === '' || el?.textContent?.trim() === t);
      },
      [selector, text ?? ''],
    );
    if (hit) return;
    await page.keyboard.press('Tab');
  }
  throw new Error(`Tab never reached ${selector} ${text ?? ''}`);
}

const focusedText = (page: Page) => page.evaluate(() => document.activeElement?.textContent ?? '');

/**
 * Wait until step `n`'s heading is shown and focused. The wizard focuses the heading in an
 * effect after the render, so a key pressed between the two would go to the old focus.
 */
async function stepFocused(page: Page, n: number): Promise<void> {
  await page.getByRole('heading', { name: new RegExp(`Step ${n} of 5`) }).waitFor();
  await page.waitForFunction(
    (step) =>
      document.activeElement?.tagName === 'H2' &&
      (document.activeElement.textContent ?? '').includes(`Step ${step} of 5`),
    n,
  );
}

describe('console: keys', { timeout: 240_000 }, () => {
  let server: TestServer;
  let browser: TestBrowser;
  let page: Page & { errors: string[] };
  let alice: string;
  let bob: string;

  before(async () => {
    [server, browser] = await Promise.all([startTestServer(), launchBrowser()]);
    const opts = {
      endpointUrl: server.url,
      region: TEST_REGION,
      credentials: { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY },
    };
    const mk = async (name: string) =>
      (
        (await callAdmin('CreateUser', { AccountId: ACCT, UserName: name }, opts)) as {
          User: { Arn: string };
        }
      ).User.Arn;
    [alice, bob] = [await mk('alice'), await mk('bob')];
    page = await newPage(browser);
    await signIn(page, server.url);
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  const keyPage = async (keyId: string) => {
    await page.goto(`${server.url}/console/keys/${keyId}`);
    await page.getByRole('heading', { name: 'General configuration' }).waitFor();
  };
  const stateOf = async (keyId: string) =>
    (await server.client.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata?.KeyState;

  it('lists keys with aliases, state badges and tags; filters and sorts', async () => {
    const alias = `alias/listed-${randomUUID().slice(0, 8)}`;
    const k = await server.client.send(
      new CreateKeyCommand({
        Description: 'listed key',
        Tags: [{ TagKey: 'team', TagValue: 'payments' }],
      }),
    );
    const keyId = k.KeyMetadata?.KeyId as string;
    await server.client.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: keyId }));
    const other = await server.client.send(new CreateKeyCommand({ Description: 'other key' }));
    await page.getByRole('link', { name: 'Keys', exact: true }).click();
    const row = page.locator(`tr[data-key-id="${keyId}"]`);
    // Rows appear from ListKeys at once; details and tags fill in as they arrive.
    await row.locator('td[data-tags="ok"]').waitFor();
    await row.locator('.badge').waitFor();
    assert.match(await row.innerText(), new RegExp(alias));
    assert.match(await row.innerText(), /team=payments/);
    assert.equal(await row.locator('.badge').getAttribute('data-state'), 'Enabled');
    await screenshot(page, 'keys');

    await page.getByLabel('Filter').fill('payments');
    await page
      .locator(`tr[data-key-id="${other.KeyMetadata?.KeyId}"]`)
      .waitFor({ state: 'detached' });
    assert.equal(await page.locator('tbody tr[data-key-id]').count(), 1);
    await page.getByLabel('Filter').fill('no-such-key-anywhere');
    await page.getByText('No keys match.').waitFor();
    await page.getByLabel('Filter').fill('');
    await page.getByRole('button', { name: /Key ID/ }).click();
    const ids = await page
      .locator('tbody tr[data-key-id]')
      .evaluateAll((rs) => rs.map((r) => r.getAttribute('data-key-id') ?? ''));
    assert.deepEqual(ids, [...ids].sort());
    assert.equal(await page.locator('th[aria-sort="ascending"]').innerText(), 'Key ID ▲');
    assert.deepEqual(page.errors, []);
  });

  it('creates a key with the five-step wizard, exactly as asked', async () => {
    const alias = `wizard-${randomUUID().slice(0, 8)}`;
    await page.getByRole('link', { name: 'Create key' }).first().click();
    await page.getByRole('heading', { name: 'Step 1 of 5: Alias and description' }).waitFor();
    await page.getByLabel('Alias').fill(alias);
    await page.getByLabel('Description (optional)').fill('made by the wizard');
    await screenshot(page, 'wizard-1-alias');
    await page.getByRole('button', { name: 'Next' }).click();

    await page.getByRole('heading', { name: 'Step 2 of 5: Tags' }).waitFor();
    await page.getByRole('button', { name: 'Add tag' }).click();
    await page.getByLabel('Tag key 1').fill('env');
    await page.getByLabel('Tag value 1').fill('prod');
    await page.getByRole('button', { name: 'Add tag' }).click();
    await page.getByLabel('Tag key 2').fill('owner');
    await page.getByLabel('Tag value 2').fill('alice');
    await screenshot(page, 'wizard-2-tags');
    await page.getByRole('button', { name: 'Next' }).click();

    await page.getByRole('heading', { name: 'Step 3 of 5: Key administrators' }).waitFor();
    await page.getByRole('checkbox', { name: /alice/ }).check();
    await screenshot(page, 'wizard-3-admins');
    await page.getByRole('button', { name: 'Next' }).click();

    await page.getByRole('heading', { name: 'Step 4 of 5: Key users' }).waitFor();
    await page.getByRole('checkbox', { name: /bob/ }).check();
    await screenshot(page, 'wizard-4-users');
    await page.getByRole('button', { name: 'Next' }).click();

    await page.getByRole('heading', { name: 'Step 5 of 5: Review' }).waitFor();
    const preview = JSON.parse(await page.getByTestId('policy-preview').innerText()) as unknown;
    assert.deepEqual(preview, awsConsolePolicy(alice, bob));
    await screenshot(page, 'wizard-5-review');
    await page.getByRole('button', { name: 'Create key' }).click();
    await page.waitForURL(/\/console\/keys\/[0-9a-f-]{36}\?created=1$/);
    await page.getByRole('heading', { name: 'General configuration' }).waitFor();
    await page.getByRole('status').filter({ hasText: 'Key created.' }).waitFor();
    await screenshot(page, 'key-detail');
    const keyId = /keys\/([0-9a-f-]{36})/.exec(page.url())?.[1] as string;

    const d = await server.client.send(new DescribeKeyCommand({ KeyId: `alias/${alias}` }));
    assert.equal(d.KeyMetadata?.KeyId, keyId);
    assert.equal(d.KeyMetadata?.Description, 'made by the wizard');
    assert.equal(d.KeyMetadata?.KeySpec, 'SYMMETRIC_DEFAULT');
    const tags = await server.client.send(new ListResourceTagsCommand({ KeyId: keyId }));
    assert.deepEqual(
      [...(tags.Tags ?? [])].sort((a, b) => (a.TagKey ?? '').localeCompare(b.TagKey ?? '')),
      [
        { TagKey: 'env', TagValue: 'prod' },
        { TagKey: 'owner', TagValue: 'alice' },
      ],
    );
    const aliases = await server.client.send(new ListAliasesCommand({ KeyId: keyId }));
    assert.deepEqual(
      aliases.Aliases?.map((a) => a.AliasName),
      [`alias/${alias}`],
    );
    const policy = await server.client.send(
      new GetKeyPolicyCommand({ KeyId: keyId, PolicyName: 'default' }),
    );
    assert.deepEqual(JSON.parse(policy.Policy ?? ''), awsConsolePolicy(alice, bob));
    assert.deepEqual(page.errors, []);
  });

  it('refuses a bad alias in the wizard without calling CreateKey', async () => {
    const targets = recordTargets(page);
    await page.goto(`${server.url}/console/create`);
    await page.getByLabel('Alias').fill('aws/reserved');
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByText('Aliases beginning with alias/aws/ are reserved').waitFor();
    await page.getByLabel('Alias').fill('has spaces');
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByText('An alias name may use letters, digits').waitFor();
    assert.ok(await page.getByRole('heading', { name: /Step 1 of 5/ }).isVisible());
    assert.ok(!targets.includes('TrentService.CreateKey'));
  });

  it('goes through the wizard by keyboard alone', async () => {
    const alias = `keyboard-${randomUUID().slice(0, 8)}`;
    await page.goto(`${server.url}/console/create`);
    await stepFocused(page, 1);
    await tabTo(page, 'input[name="alias"]');
    await page.keyboard.type(alias);
    await page.keyboard.press('Enter'); // submits the step form: Next
    await stepFocused(page, 2);
    // Focus moves to the new step's heading, so the next Tab continues inside the step.
    assert.match(await focusedText(page), /Step 2 of 5/);
    await tabTo(page, 'button', 'Add tag');
    await page.keyboard.press('Enter');
    await tabTo(page, 'input[name="tagKey0"]');
    await page.keyboard.type('via');
    await page.keyboard.press('Tab');
    await page.keyboard.type('keyboard');
    await page.keyboard.press('Enter');
    await stepFocused(page, 3);
    assert.match(await focusedText(page), /Step 3 of 5/);
    await tabTo(page, 'input[type="checkbox"][value$=":user/alice"]');
    await page.keyboard.press('Space');
    await tabTo(page, 'button[type="submit"]');
    await page.keyboard.press('Enter');
    await stepFocused(page, 4);
    await tabTo(page, 'button[type="submit"]');
    await page.keyboard.press('Enter');
    await stepFocused(page, 5);
    // Back one step and forward again with the keyboard.
    await tabTo(page, 'button', 'Previous');
    await page.keyboard.press('Enter');
    await stepFocused(page, 4);
    await tabTo(page, 'button[type="submit"]');
    await page.keyboard.press('Enter');
    await stepFocused(page, 5);
    await tabTo(page, 'button', 'Create key');
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/console\/keys\/[0-9a-f-]{36}/);
    const d = await server.client.send(new DescribeKeyCommand({ KeyId: `alias/${alias}` }));
    const tags = await server.client.send(
      new ListResourceTagsCommand({ KeyId: d.KeyMetadata?.KeyId }),
    );
    assert.deepEqual(tags.Tags, [{ TagKey: 'via', TagValue: 'keyboard' }]);
    const policy = JSON.parse(
      (
        await server.client.send(
          new GetKeyPolicyCommand({ KeyId: d.KeyMetadata?.KeyId, PolicyName: 'default' }),
        )
      ).Policy ?? '',
    ) as { Statement: { Sid: string; Principal: { AWS: string } }[] };
    assert.deepEqual(
      policy.Statement.map((s) => s.Sid),
      ['Enable IAM User Permissions', 'Allow access for Key Administrators'],
    );
    assert.equal(policy.Statement[1]?.Principal.AWS, alice);
  });

  it('edits the key policy: invalid JSON refused without a call, diff shown, saved', async () => {
    const k = await server.client.send(new CreateKeyCommand({ Description: 'policy edit' }));
    const keyId = k.KeyMetadata?.KeyId as string;
    const targets = recordTargets(page);
    await keyPage(keyId);
    const editor = page.getByLabel('Policy document (JSON)');
    const original = JSON.parse(await editor.inputValue()) as { Statement: unknown[] };

    await editor.fill('{ "Version": "2012-10-17", "Statement": [ ');
    await page.getByTestId('policy-check').filter({ hasText: 'Not valid JSON' }).waitFor();
    assert.ok(await page.getByRole('button', { name: 'Review changes' }).isDisabled());
    assert.equal(await editor.getAttribute('aria-invalid'), 'true');
    await screenshot(page, 'policy-invalid');
    assert.ok(!targets.includes('TrentService.PutKeyPolicy'));

    const edited = {
      ...original,
      Statement: [
        ...original.Statement,
        {
          Sid: 'Console test',
          Effect: 'Allow',
          Principal: { AWS: bob },
          Action: 'kms:DescribeKey',
          Resource: '*',
        },
      ],
    };
    await editor.fill(JSON.stringify(edited, null, 2));
    await page.getByRole('button', { name: 'Review changes' }).click();
    const diff = page.getByTestId('policy-diff');
    await diff.waitFor();
    const added = await diff.locator('div.add').allInnerTexts();
    assert.ok(
      added.some((l) => l.includes('"Sid": "Console test"')),
      added.join('\n'),
    );
    await screenshot(page, 'policy-diff');
    assert.ok(!targets.includes('TrentService.PutKeyPolicy'));
    await page.getByRole('button', { name: 'Save key policy' }).click();
    await page.getByText('Key policy saved.').waitFor();
    assert.ok(targets.includes('TrentService.PutKeyPolicy'));
    const got = await server.client.send(
      new GetKeyPolicyCommand({ KeyId: keyId, PolicyName: 'default' }),
    );
    assert.deepEqual(JSON.parse(got.Policy ?? ''), edited);
  });

  it('disables and enables a key; the badge follows DescribeKey', async () => {
    const k = await server.client.send(new CreateKeyCommand({ Description: 'toggle me' }));
    const keyId = k.KeyMetadata?.KeyId as string;
    await keyPage(keyId);
    const badge = page.locator('#state-h .badge');
    assert.equal(await badge.getAttribute('data-state'), 'Enabled');
    await page.getByRole('button', { name: 'Disable key' }).click();
    // Confirmed first: cancelling changes nothing.
    const dialog = page.getByRole('dialog', { name: 'Disable key?' });
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    assert.equal(await stateOf(keyId), 'Enabled');
    await page.getByRole('button', { name: 'Disable key' }).click();
    await dialog.getByRole('button', { name: 'Disable key' }).click();
    await page.locator('#state-h .badge[data-state="Disabled"]').waitFor();
    assert.equal(await stateOf(keyId), 'Disabled');
    await screenshot(page, 'key-disabled');
    await page.getByRole('button', { name: 'Enable key' }).click();
    await page.locator('#state-h .badge[data-state="Enabled"]').waitFor();
    assert.equal(await stateOf(keyId), 'Enabled');
  });

  it('schedules deletion with the date shown, then cancels it', async () => {
    const k = await server.client.send(new CreateKeyCommand({ Description: 'delete me' }));
    const keyId = k.KeyMetadata?.KeyId as string;
    await keyPage(keyId);
    await page.getByLabel('Waiting period (days, 7–30)').fill('3');
    assert.ok(await page.getByRole('button', { name: 'Schedule key deletion' }).isDisabled());
    await page.getByLabel('Waiting period (days, 7–30)').fill('7');
    await page.getByRole('button', { name: 'Schedule key deletion' }).click();
    // A second, explicit confirmation before anything is sent; Escape cancels it.
    const dialog = page.getByRole('dialog', { name: 'Schedule key deletion?' });
    await dialog.waitFor();
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    assert.equal(await stateOf(keyId), 'Enabled');
    await page.getByRole('button', { name: 'Schedule key deletion' }).click();
    await dialog.getByRole('button', { name: 'Schedule deletion after 7 days' }).click();
    await page.locator('#state-h .badge[data-state="PendingDeletion"]').waitFor();
    const d = await server.client.send(new DescribeKeyCommand({ KeyId: keyId }));
    assert.equal(d.KeyMetadata?.KeyState, 'PendingDeletion');
    const when = (d.KeyMetadata?.DeletionDate as Date).toISOString().replace('T', ' ').slice(0, 19);
    assert.match(await page.getByTestId('deletion-date').innerText(), new RegExp(`${when} UTC`));
    await screenshot(page, 'key-pending-deletion');
    await page.getByRole('button', { name: 'Cancel key deletion' }).click();
    await page.locator('#state-h .badge[data-state="Disabled"]').waitFor();
    assert.equal(await stateOf(keyId), 'Disabled');
    assert.deepEqual(page.errors, []);
  });
});
