/**
 * The key page as the AWS console lays it out, and the actions a user expects, in a real
 * browser: alias heading, copy buttons, ids that do not wrap mid-word, tabs (crypto
 * configuration with algorithms, public key view and download, grants with constraints),
 * confirmations (rotate now, delete alias), the wizard's spec table (Ed25519, key
 * agreement) and origins (import: wrapping key and token downloaded, key material
 * uploaded; a custom key store needs one), multi-Region with "Replicate key", the Region
 * selector, and a user without permission seeing the reason instead of repeated errors.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { constants, createPublicKey, publicEncrypt, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  CreateAliasCommand,
  CreateGrantCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  GetPublicKeyCommand,
  ListAliasesCommand,
  ListGrantsCommand,
  ListKeyRotationsCommand,
  PutKeyPolicyCommand,
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
  startAll,
  type TestBrowser,
} from './browser.js';

const ACCT = TEST_ACCOUNT_ID;
const OTHER_REGION = 'eu-west-1';

describe('console: key page and actions', { timeout: 300_000 }, () => {
  let server: TestServer | undefined;
  let browser: TestBrowser | undefined;
  let page: Page & { errors: string[] };
  const s = () => server as TestServer;
  const admin = (op: string, input: Record<string, unknown>) =>
    callAdmin(op, input, {
      endpointUrl: s().url,
      region: TEST_REGION,
      credentials: { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY },
    });

  before(async () => {
    await startAll([
      async () => void (server = await startTestServer({ env: { KEYHOLD_REGIONS: OTHER_REGION } })),
      async () => void (browser = await launchBrowser()),
    ]);
    if (server === undefined || browser === undefined) throw new Error('not started');
    await browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], {
      origin: server.url,
    });
    page = await newPage(browser);
    await signIn(page, server.url);
  });
  after(async () => {
    await Promise.allSettled([browser?.close(), server?.stop()]);
  });

  const open = async (keyId: string, tab?: string) => {
    await page.goto(`${s().url}/console/keys/${keyId}${tab ? `?tab=${tab}` : ''}`);
    await page.getByRole('heading', { name: 'General configuration' }).waitFor();
  };

  it('heads the page with the alias, copies the ARN, and keeps ids whole', async () => {
    const k = await s().client.send(new CreateKeyCommand({ Description: 'copy me' }));
    const keyId = k.KeyMetadata?.KeyId as string;
    await s().client.send(
      new CreateAliasCommand({ AliasName: 'alias/heading', TargetKeyId: keyId }),
    );
    await open(keyId);
    assert.equal(await page.locator('h1').innerText(), 'alias/heading');
    await page.getByRole('button', { name: 'Copy ARN' }).click();
    await page.getByRole('button', { name: 'Copy ARN' }).filter({ hasText: 'Copied' }).waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), k.KeyMetadata?.Arn);
    await page.getByRole('button', { name: 'Copy key ID' }).click();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), keyId);
    // On a phone the ARN may wrap, but only between its parts, never inside the key ID.
    await page.setViewportSize({ width: 375, height: 667 });
    const parts = await page
      .locator(`.id[data-id="${k.KeyMetadata?.Arn}"] .id-part`)
      .evaluateAll((els) =>
        els.map((e) => ({
          text: e.textContent,
          lines: Math.round(
            e.getBoundingClientRect().height / parseFloat(getComputedStyle(e).lineHeight),
          ),
        })),
      );
    assert.equal(parts.map((p) => p.text).join(''), k.KeyMetadata?.Arn);
    assert.ok(
      parts.every((p) => p.lines === 1),
      JSON.stringify(parts),
    );
    await screenshot(page, 'phone-key-detail-ids');
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  it('shows the cryptographic configuration and the public key, and downloads it', async () => {
    const k = await s().client.send(
      new CreateKeyCommand({ KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' }),
    );
    const keyId = k.KeyMetadata?.KeyId as string;
    await open(keyId);
    const tabs = await page.getByRole('tab').allInnerTexts();
    assert.deepEqual(tabs, [
      'Key policy',
      'Cryptographic configuration',
      'Public key',
      'Tags',
      'Key rotation',
      'Aliases',
      'Grants',
      'Regionality',
    ]);
    await page.getByRole('tab', { name: 'Cryptographic configuration' }).click();
    const algorithms = await page.getByTestId('algorithms').locator('li').allInnerTexts();
    assert.deepEqual(algorithms, k.KeyMetadata?.SigningAlgorithms);
    assert.match(page.url(), /\?tab=crypto$/);
    // Arrow keys move between tabs (WAI-ARIA tabs pattern).
    await page.getByRole('tab', { name: 'Cryptographic configuration' }).focus();
    await page.keyboard.press('ArrowRight');
    await page.getByTestId('public-key').waitFor();
    const pub = await s().client.send(new GetPublicKeyCommand({ KeyId: keyId }));
    const der = Buffer.from(pub.PublicKey as Uint8Array);
    const pem = await page.getByTestId('public-key').innerText();
    assert.ok(
      createPublicKey(pem.trim()).export({ format: 'der', type: 'spki' }).equals(der),
      'the PEM shown is the key GetPublicKey returns',
    );
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download DER' }).click(),
    ]);
    assert.equal(download.suggestedFilename(), `${keyId}.der`);
    assert.ok(readFileSync(await download.path()).equals(der));
    await screenshot(page, 'key-public-key');
    assert.deepEqual(page.errors, []);
  });

  it('lists grants with their constraints and revokes one after confirmation', async () => {
    const k = await s().client.send(new CreateKeyCommand({}));
    const keyId = k.KeyMetadata?.KeyId as string;
    const g = await s().client.send(
      new CreateGrantCommand({
        KeyId: keyId,
        GranteePrincipal: `arn:aws:iam::${ACCT}:root`,
        Operations: ['Decrypt'],
        Name: 'orders-reader',
        Constraints: { EncryptionContextSubset: { app: 'orders' } },
      }),
    );
    await open(keyId, 'grants');
    const row = page.locator(`tr[data-grant-id="${g.GrantId}"]`);
    assert.match(await row.innerText(), /orders-reader/);
    assert.match(
      await row.getByTestId('grant-constraints').innerText(),
      /Encryption context includes app=orders/,
    );
    await row.getByRole('button', { name: 'Revoke' }).click();
    await page
      .getByRole('dialog', { name: 'Revoke this grant?' })
      .getByRole('button', { name: 'Revoke grant' })
      .click();
    await row.waitFor({ state: 'detached' });
    const left = await s().client.send(new ListGrantsCommand({ KeyId: keyId }));
    assert.deepEqual(left.Grants, []);
  });

  it('asks before rotating now and before deleting an alias', async () => {
    const k = await s().client.send(new CreateKeyCommand({}));
    const keyId = k.KeyMetadata?.KeyId as string;
    await s().client.send(
      new CreateAliasCommand({ AliasName: 'alias/to-delete', TargetKeyId: keyId }),
    );
    const targets = recordTargets(page);
    await open(keyId, 'rotation');
    await page.getByRole('button', { name: 'Rotate now' }).click();
    const rotate = page.getByRole('dialog', { name: 'Rotate the key material now?' });
    await rotate.getByRole('button', { name: 'Cancel' }).click();
    assert.ok(!targets.includes('TrentService.RotateKeyOnDemand'));
    await page.getByRole('button', { name: 'Rotate now' }).click();
    await rotate.getByRole('button', { name: 'Rotate now' }).click();
    await page.locator('[data-label="Type"]', { hasText: 'ON_DEMAND' }).waitFor();
    const r = await s().client.send(new ListKeyRotationsCommand({ KeyId: keyId }));
    assert.equal(r.Rotations?.length, 1);

    await page.getByRole('tab', { name: 'Aliases' }).click();
    await page.getByRole('button', { name: 'Delete alias/to-delete' }).click();
    const del = page.getByRole('dialog', { name: 'Delete alias/to-delete?' });
    await del.getByRole('button', { name: 'Cancel' }).click();
    assert.ok(!targets.includes('TrentService.DeleteAlias'));
    await page.getByRole('button', { name: 'Delete alias/to-delete' }).click();
    await del.getByRole('button', { name: 'Delete alias' }).click();
    await page.getByText('No aliases.').waitFor();
    const left = await s().client.send(new ListAliasesCommand({ KeyId: keyId }));
    assert.deepEqual(left.Aliases, []);
    // The Aliases page asks too, and refuses a bad name without a call.
    await s().client.send(
      new CreateAliasCommand({ AliasName: 'alias/page-delete', TargetKeyId: keyId }),
    );
    await page.goto(`${s().url}/console/aliases`);
    await page.getByRole('button', { name: 'Delete alias/page-delete' }).click();
    await page
      .getByRole('dialog', { name: 'Delete alias/page-delete?' })
      .getByRole('button', { name: 'Delete alias' })
      .click();
    await page
      .locator('td[data-label="Alias"]', { hasText: 'alias/page-delete' })
      .waitFor({ state: 'detached' });
    await page.getByLabel('Alias name').fill('alias/aws/mine');
    await page.getByLabel('Target key ID', { exact: true }).fill(keyId);
    await page.getByRole('button', { name: 'Create alias' }).click();
    await page.getByText('Aliases beginning with alias/aws/ are reserved').waitFor();
    assert.ok(!targets.includes('TrentService.CreateAlias'));
  });

  it('offers every spec the server creates, Ed25519, ML-DSA and key agreement included', async () => {
    await page.goto(`${s().url}/console/create`);
    const types = await page.getByLabel('Key type and usage').locator('option').allInnerTexts();
    assert.deepEqual(types, [
      'Symmetric, encrypt and decrypt',
      'Symmetric, generate and verify MAC',
      'Asymmetric, encrypt and decrypt',
      'Asymmetric, sign and verify',
      'Asymmetric, key agreement',
    ]);
    await page.getByLabel('Key type and usage').selectOption('Asymmetric, sign and verify');
    const specs = await page.getByLabel('Key spec').locator('option').allInnerTexts();
    assert.ok(specs.includes('ECC_NIST_EDWARDS25519'), specs.join());
    assert.ok(specs.includes('ML_DSA_65'), `ML-DSA is offered: ${specs.join()}`);
    assert.ok(!specs.includes('SM2'), 'unsupported specs are not offered');
    await page.getByLabel('Key type and usage').selectOption('Asymmetric, key agreement');
    assert.deepEqual(await page.getByLabel('Key spec').locator('option').allInnerTexts(), [
      'ECC_NIST_P256',
      'ECC_NIST_P384',
      'ECC_NIST_P521',
    ]);
    // A custom key store origin needs a connected store; this account has none.
    await page.getByLabel('Key type and usage').selectOption('Symmetric, encrypt and decrypt');
    await page.getByText('Advanced options').click();
    await page.getByLabel('AWS CloudHSM key store').check();
    await page.getByText('There is no AWS CloudHSM key store').waitFor();
    assert.ok(await page.getByLabel('Multi-Region key (not in a custom key store)').isDisabled());
    await page.getByLabel('Alias').fill('in-a-store');
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByText('Choose a connected key store.').waitFor();
  });

  it('creates a key for imported material, downloads the wrapping key and token, imports', async () => {
    await page.goto(`${s().url}/console/create`);
    await page.getByText('Advanced options').click();
    await page.getByLabel('External (import key material)').check();
    await page.getByLabel('Alias').fill('imported');
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByText('Confirm that you understand').waitFor();
    await page.getByLabel(/I understand the security/).check();
    for (let step = 2; step <= 5; step++) {
      await page.getByRole('button', { name: 'Next' }).click();
      await page.getByRole('heading', { name: new RegExp(`Step ${step} of 5`) }).waitFor();
    }
    assert.match(
      await page.getByTestId('review-origin').innerText(),
      /External \(import key material\)/,
    );
    await page.getByRole('button', { name: 'Create key' }).click();
    await page.waitForURL(/\/console\/keys\/[0-9a-f-]{36}\?created=1&tab=material$/);
    const keyId = /keys\/([0-9a-f-]{36})/.exec(page.url())?.[1] as string;
    await page.getByTestId('material-state').filter({ hasText: 'No key material' }).waitFor();

    await page.getByLabel('Wrapping key spec').selectOption('RSA_2048');
    const downloads: Promise<import('playwright-core').Download>[] = [];
    page.on('download', (d) => downloads.push(Promise.resolve(d)));
    await page.getByRole('button', { name: 'Download wrapping key and import token' }).click();
    await page.getByTestId('parameters-valid-to').waitFor();
    const files = new Map<string, Buffer>();
    for (const d of await Promise.all(downloads))
      files.set(d.suggestedFilename(), readFileSync(await d.path()));
    const wrapping = files.get(`WrappingPublicKey_${keyId}.bin`) as Buffer;
    const token = files.get(`ImportToken_${keyId}.bin`) as Buffer;
    assert.ok(wrapping !== undefined && token !== undefined, [...files.keys()].join());
    const wrapped = publicEncrypt(
      {
        key: createPublicKey({ key: wrapping, format: 'der', type: 'spki' }),
        padding: constants.RSA_PKCS1_OAEP_PADDING,
        oaepHash: 'sha256',
      },
      randomBytes(32),
    );
    await page.getByLabel('Wrapped key material').setInputFiles({
      name: 'EncryptedKeyMaterial.bin',
      mimeType: 'application/octet-stream',
      buffer: wrapped,
    });
    await page.getByLabel('Import token').setInputFiles({
      name: 'ImportToken.bin',
      mimeType: 'application/octet-stream',
      buffer: token,
    });
    await page.getByRole('button', { name: 'Import key material' }).click();
    await page
      .getByTestId('material-state')
      .filter({ hasText: 'Imported; it does not expire.' })
      .waitFor();
    const d = await s().client.send(new DescribeKeyCommand({ KeyId: keyId }));
    assert.equal(d.KeyMetadata?.KeyState, 'Enabled');
    assert.equal(d.KeyMetadata?.Origin, 'EXTERNAL');
    await screenshot(page, 'key-material');
    assert.deepEqual(page.errors, []);
  });

  it('creates a multi-Region key, replicates it, and switches Region without signing out', async () => {
    await page.goto(`${s().url}/console/create`);
    await page.getByText('Advanced options').click();
    await page.getByLabel('Multi-Region key').check();
    await page.getByLabel('Alias').fill('everywhere');
    for (let step = 2; step <= 5; step++) {
      await page.getByRole('button', { name: 'Next' }).click();
      await page.getByRole('heading', { name: new RegExp(`Step ${step} of 5`) }).waitFor();
    }
    assert.equal(await page.getByText('Multi-Region', { exact: true }).count(), 1);
    await page.getByRole('button', { name: 'Create key' }).click();
    await page.waitForURL(/\/console\/keys\/mrk-[0-9a-f]{32}\?created=1$/);
    const keyId = /keys\/(mrk-[0-9a-f]{32})/.exec(page.url())?.[1] as string;
    await page.getByRole('tab', { name: 'Regionality' }).click();
    assert.equal(await page.getByTestId('mrk-type').innerText(), 'PRIMARY');
    await page.getByLabel('Replicate to Region').selectOption(OTHER_REGION);
    await page.getByRole('button', { name: 'Replicate key' }).click();
    await page
      .getByRole('dialog', { name: `Replicate this key to ${OTHER_REGION}?` })
      .getByRole('button', { name: 'Replicate key' })
      .click();
    await page.getByTestId('replicas').filter({ hasText: OTHER_REGION }).waitFor();
    const replica = await s()
      .clientWith(TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY, OTHER_REGION)
      .send(new DescribeKeyCommand({ KeyId: keyId }));
    assert.equal(replica.KeyMetadata?.MultiRegionConfiguration?.MultiRegionKeyType, 'REPLICA');

    // The Region selector: same credentials, the other Region's keys.
    await page.getByRole('combobox', { name: 'Region', exact: true }).selectOption(OTHER_REGION);
    await page.locator(`tr[data-key-id="${keyId}"] td[data-tags="ok"]`).waitFor();
    assert.equal(await page.locator('tr[data-key-id]').count(), 1);
    assert.equal(
      await page.evaluate(
        () => JSON.parse(sessionStorage.getItem('keyhold.console.session') ?? '{}').region,
      ),
      OTHER_REGION,
    );
    await page.getByRole('combobox', { name: 'Region', exact: true }).selectOption(TEST_REGION);
    await page.locator('tr[data-key-id]').nth(1).waitFor();
  });

  it('disables what a user may not do, with the reason, instead of repeating AccessDenied', async () => {
    const u = (await admin('CreateUser', { AccountId: ACCT, UserName: 'viewer' })) as {
      User: { Arn: string };
    };
    const ak = (await admin('CreateAccessKey', { UserArn: u.User.Arn })) as {
      AccessKey: { AccessKeyId: string; SecretAccessKey: string };
    };
    const k = await s().client.send(new CreateKeyCommand({ Description: 'look, do not touch' }));
    const keyId = k.KeyMetadata?.KeyId as string;
    await s().client.send(
      new PutKeyPolicyCommand({
        KeyId: keyId,
        PolicyName: 'default',
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { AWS: `arn:aws:iam::${ACCT}:root` },
              Action: 'kms:*',
              Resource: '*',
            },
            {
              Effect: 'Allow',
              Principal: { AWS: u.User.Arn },
              Action: ['kms:DescribeKey', 'kms:GetKeyPolicy', 'kms:ListAliases'],
              Resource: '*',
            },
          ],
        }),
      }),
    );
    const viewer = await newPage(browser as TestBrowser);
    await signIn(viewer, s().url, {
      id: ak.AccessKey.AccessKeyId,
      secret: ak.AccessKey.SecretAccessKey,
    });
    const targets = recordTargets(viewer);
    await viewer.goto(`${s().url}/console/keys/${keyId}`);
    await viewer.getByRole('heading', { name: 'General configuration' }).waitFor();
    // ListAliases needs an IAM policy (a key policy cannot grant it): the alias says so.
    await viewer.locator('#general-h ~ dl .cell-error').waitFor();
    assert.equal(
      await viewer.locator('#general-h ~ dl .cell-error').getAttribute('data-error-name'),
      'AccessDeniedException',
    );
    await viewer.getByRole('button', { name: 'Disable key' }).click();
    await viewer
      .getByRole('dialog', { name: 'Disable key?' })
      .getByRole('button', { name: 'Disable key' })
      .click();
    const disable = viewer.locator('button[data-action="kms:DisableKey"]');
    await viewer.locator('[data-denied="kms:DisableKey"]').waitFor();
    assert.ok(await disable.isDisabled());
    assert.match(
      await viewer.locator('#why-kms-DisableKey').innerText(),
      /You are not allowed to call kms:DisableKey/,
    );
    // One line saying why, no AccessDenied box; and the refused call is not sent again.
    assert.equal(
      await viewer.locator('.error[data-error-name="AccessDeniedException"]').count(),
      0,
    );
    assert.equal(targets.filter((t) => t === 'TrentService.DisableKey').length, 1);
    await screenshot(viewer, 'key-not-allowed');
    assert.equal(
      (await s().client.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata?.KeyState,
      'Enabled',
    );
  });
});
