/**
 * The wizard's external key store origin in a real browser: a keyhold XKS proxy (HTTPS, a
 * test CA, SigV4) holds key `foo`; the console creates a KMS key backed by it, and a wrong
 * external key ID is refused by name without leaving a key behind.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  ConnectCustomKeyStoreCommand,
  CreateCustomKeyStoreCommand,
  DescribeCustomKeyStoresCommand,
  DescribeKeyCommand,
  EncryptCommand,
  ListAliasesCommand,
} from '@aws-sdk/client-kms';
import type { Page } from 'playwright-core';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { createTestPki, type TestPki } from '../helpers/tls.js';
import { startTestXksProxy, type TestXksProxy } from '../helpers/xks-proxy.js';
import { launchBrowser, newPage, signIn, startAll, type TestBrowser } from './browser.js';

describe('console: external key store origin', { timeout: 180_000 }, () => {
  let pki: TestPki | undefined;
  let xks: TestXksProxy | undefined;
  let server: TestServer | undefined;
  let browser: TestBrowser | undefined;
  let storeId: string;

  before(async () => {
    pki = createTestPki({ serverNames: ['DNS:localhost', 'DNS:*.xks.test', 'IP:127.0.0.1'] });
    xks = await startTestXksProxy({ pki, keys: [{ id: 'foo' }] });
    await startAll([
      async () =>
        void (server = await startTestServer({
          env: {
            KEYHOLD_XKS_CLIENT_CA_FILE: (pki as TestPki).caPath,
            KEYHOLD_XKS_CLIENT_CONNECT_TO: `ext.xks.test=127.0.0.1:${(xks as TestXksProxy).port}`,
          },
        })),
      async () => void (browser = await launchBrowser()),
    ]);
    if (server === undefined) throw new Error('not started');
    const store = await server.client.send(
      new CreateCustomKeyStoreCommand({
        CustomKeyStoreName: 'console-xks',
        CustomKeyStoreType: 'EXTERNAL_KEY_STORE',
        XksProxyUriEndpoint: 'https://ext.xks.test',
        XksProxyUriPath: xks.uriPath,
        XksProxyConnectivity: 'PUBLIC_ENDPOINT',
        XksProxyAuthenticationCredential: {
          AccessKeyId: xks.credential.accessKeyId,
          RawSecretAccessKey: xks.credential.secretAccessKey,
        },
      }),
    );
    storeId = store.CustomKeyStoreId as string;
    await server.client.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId: storeId }));
    for (let i = 0; i < 400; i++) {
      const r = await server.client.send(
        new DescribeCustomKeyStoresCommand({ CustomKeyStoreId: storeId }),
      );
      if (r.CustomKeyStores?.[0]?.ConnectionState === 'CONNECTED') break;
      await new Promise((res) => setTimeout(res, 25));
    }
  });
  after(async () => {
    await Promise.allSettled([browser?.close(), server?.stop()]);
    await xks?.stop();
    pki?.cleanup();
  });

  const wizard = async (page: Page, alias: string, xksKeyId: string) => {
    await page.goto(`${(server as TestServer).url}/console/create`);
    await page.getByText('Advanced options').click();
    await page.getByLabel('External key store').check();
    await page.getByRole('radio', { name: /console-xks/ }).check();
    await page.getByLabel('Alias').fill(alias);
    await page.getByRole('button', { name: 'Next' }).click();
    // The external key ID is required before anything is sent.
    await page.getByText('Enter the ID of the key in your external key manager.').waitFor();
    await page.getByLabel('External key ID').fill(xksKeyId);
    for (let step = 2; step <= 5; step++) {
      await page.getByRole('button', { name: 'Next' }).click();
      await page.getByRole('heading', { name: new RegExp(`Step ${step} of 5`) }).waitFor();
    }
    assert.match(await page.getByTestId('review-origin').innerText(), /External key store/);
    await page.getByRole('button', { name: 'Create key' }).click();
  };

  it('creates a key in the external key store and shows its external key ID', async () => {
    const s = server as TestServer;
    const page = await newPage(browser as TestBrowser);
    await signIn(page, s.url);
    await wizard(page, 'outside', 'foo');
    await page.waitForURL(/\/console\/keys\/[0-9a-f-]{36}\?created=1$/);
    const d = await s.client.send(new DescribeKeyCommand({ KeyId: 'alias/outside' }));
    assert.equal(d.KeyMetadata?.Origin, 'EXTERNAL_KEY_STORE');
    assert.equal(d.KeyMetadata?.CustomKeyStoreId, storeId);
    assert.equal(d.KeyMetadata?.XksKeyConfiguration?.Id, 'foo');
    await s.client.send(
      new EncryptCommand({ KeyId: 'alias/outside', Plaintext: Buffer.from('x') }),
    );
    await page.getByRole('tab', { name: 'Cryptographic configuration' }).click();
    assert.match(await page.locator('.tabpanel').innerText(), /External key ID\s+foo/);
    assert.deepEqual(page.errors, []);
  });

  it('shows a wrong external key ID by its AWS error name', async () => {
    const s = server as TestServer;
    const page = await newPage(browser as TestBrowser);
    await signIn(page, s.url);
    await wizard(page, 'nowhere', 'no-such-key');
    await page.locator('[data-error-name="XksKeyNotFoundException"]').waitFor();
    const aliases = await s.client.send(new ListAliasesCommand({}));
    assert.ok(!aliases.Aliases?.some((a) => a.AliasName === 'alias/nowhere'));
  });
});
