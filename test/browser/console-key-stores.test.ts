/**
 * The console's custom key stores page in a real browser, against CloudHSM-type stores on
 * SoftHSM2: connection states, connect / disconnect with progress, and a failed connection
 * (wrong kmsuser password) explained with its fix.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ConnectCustomKeyStoreCommand,
  CreateCustomKeyStoreCommand,
  DescribeCustomKeyStoresCommand,
  DescribeKeyCommand,
  DisconnectCustomKeyStoreCommand,
} from '@aws-sdk/client-kms';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { createSoftHsmToken, softHsmAvailable } from '../helpers/softhsm.js';
import { launchBrowser, newPage, screenshot, signIn, type TestBrowser } from './browser.js';

const skip = softHsmAvailable() ? false : 'SoftHSM2 is not installed (apt-get install softhsm2)';
const GOOD = 'cluster-consolegoodaa';
const BAD = 'cluster-consolebadaaa';

describe('console: custom key stores', { skip, timeout: 180_000 }, () => {
  let server: TestServer;
  let browser: TestBrowser;
  let tmp: string;
  const ids: Record<string, string> = {};

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'keyhold-console-cks-'));
    const caFile = join(tmp, 'customerCA.crt');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-subj',
        '/CN=customerCA',
        '-days',
        '2',
        '-keyout',
        join(tmp, 'ca.key'),
        '-out',
        caFile,
      ],
      { stdio: 'ignore' },
    );
    const good = createSoftHsmToken();
    const bad = createSoftHsmToken();
    const clusters = {
      [GOOD]: { module: good.modulePath, tokens: [good.label], trustAnchorFile: caFile },
      [BAD]: { module: bad.modulePath, tokens: [bad.label], trustAnchorFile: caFile },
    };
    [server, browser] = await Promise.all([
      startTestServer({
        env: {
          KEYHOLD_CLOUDHSM_CLUSTERS: JSON.stringify(clusters),
          KEYHOLD_CUSTOM_KEY_STORE_TRANSITION_DELAY_MS: '300',
        },
      }),
      launchBrowser(),
    ]);
    const ca = execFileSync('cat', [caFile], { encoding: 'utf8' });
    for (const [name, cluster, pin] of [
      ['console-good', GOOD, good.userPin],
      ['console-bad', BAD, 'not-the-pin'],
    ] as const) {
      const r = await server.client.send(
        new CreateCustomKeyStoreCommand({
          CustomKeyStoreName: name,
          CloudHsmClusterId: cluster,
          TrustAnchorCertificate: ca,
          KeyStorePassword: pin,
        }),
      );
      ids[name] = r.CustomKeyStoreId as string;
    }
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
  });

  const stateOf = async (id: string) =>
    (await server.client.send(new DescribeCustomKeyStoresCommand({ CustomKeyStoreId: id })))
      .CustomKeyStores?.[0];

  it('connects, explains a failed connection, and disconnects', async () => {
    const page = await newPage(browser);
    await signIn(page, server.url);
    await page.getByRole('link', { name: 'Key stores' }).click();
    const good = page.locator(`tr[data-store-id="${ids['console-good']}"]`);
    const bad = page.locator(`tr[data-store-id="${ids['console-bad']}"]`);
    await good.locator('.badge[data-state="DISCONNECTED"]').waitFor();
    await bad.locator('.badge[data-state="DISCONNECTED"]').waitFor();
    await screenshot(page, 'key-stores-disconnected');

    await good.getByRole('button', { name: 'Connect', exact: true }).click();
    await bad.getByRole('button', { name: 'Connect', exact: true }).click();
    // The page keeps refreshing while a store is CONNECTING, until it settles.
    await good.locator('.badge[data-state="CONNECTED"]').waitFor({ timeout: 30_000 });
    await bad.locator('.badge[data-state="FAILED"]').waitFor({ timeout: 30_000 });
    assert.equal((await stateOf(ids['console-good'] as string))?.ConnectionState, 'CONNECTED');
    const failed = await stateOf(ids['console-bad'] as string);
    assert.equal(failed?.ConnectionErrorCode, 'INVALID_CREDENTIALS');
    const explained = await bad.getByTestId('connection-error').innerText();
    assert.match(explained, /INVALID_CREDENTIALS/);
    assert.match(explained, /Disconnect, update the store with the current credential/);
    assert.equal(await bad.getByRole('button', { name: 'Connect', exact: true }).count(), 0);
    await screenshot(page, 'key-stores-connected-failed');

    await good.getByRole('button', { name: 'Disconnect' }).click();
    await good.locator('.badge[data-state="DISCONNECTED"]').waitFor({ timeout: 30_000 });
    assert.equal((await stateOf(ids['console-good'] as string))?.ConnectionState, 'DISCONNECTED');
    await bad.getByRole('button', { name: 'Disconnect' }).click();
    await bad.locator('.badge[data-state="DISCONNECTED"]').waitFor({ timeout: 30_000 });
    assert.equal((await stateOf(ids['console-bad'] as string))?.ConnectionErrorCode, undefined);
    assert.deepEqual(page.errors, []);
  });

  it('creates a key in a connected CloudHSM-type store from the wizard', async () => {
    const id = ids['console-good'] as string;
    await server.client.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId: id }));
    for (let i = 0; i < 100 && (await stateOf(id))?.ConnectionState !== 'CONNECTED'; i++)
      await new Promise((r) => setTimeout(r, 100));
    const page = await newPage(browser);
    await signIn(page, server.url);
    await page.goto(`${server.url}/console/create`);
    await page.getByText('Advanced options').click();
    await page.getByLabel('AWS CloudHSM key store').check();
    // Only connected stores can be chosen (the failed one is disconnected).
    assert.ok(await page.getByRole('radio', { name: /console-bad/ }).isDisabled());
    await page.getByRole('radio', { name: /console-good/ }).check();
    await page.getByLabel('Alias').fill('in-the-hsm');
    for (let step = 2; step <= 5; step++) {
      await page.getByRole('button', { name: 'Next' }).click();
      await page.getByRole('heading', { name: new RegExp(`Step ${step} of 5`) }).waitFor();
    }
    assert.match(await page.getByTestId('review-origin').innerText(), new RegExp(id));
    await page.getByRole('button', { name: 'Create key' }).click();
    await page.waitForURL(/\/console\/keys\/[0-9a-f-]{36}\?created=1$/);
    const d = await server.client.send(new DescribeKeyCommand({ KeyId: 'alias/in-the-hsm' }));
    assert.equal(d.KeyMetadata?.Origin, 'AWS_CLOUDHSM');
    assert.equal(d.KeyMetadata?.CustomKeyStoreId, id);
    await page.getByRole('tab', { name: 'Cryptographic configuration' }).click();
    assert.match(await page.locator('.tabpanel').innerText(), /AWS_CLOUDHSM/);
    await server.client.send(new DisconnectCustomKeyStoreCommand({ CustomKeyStoreId: id }));
    assert.deepEqual(page.errors, []);
  });
});
