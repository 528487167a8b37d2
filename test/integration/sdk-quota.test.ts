/**
 * Request quotas through the real SDK (maxAttempts 1, so the SDK does not retry): AWS's
 * ThrottlingException and message, refill on the server's clock, quotas per account, and
 * KEYHOLD_QUOTAS=off.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CreateKeyCommand,
  DescribeKeyCommand,
  EncryptCommand,
  SignCommand,
  type KMSClient,
} from '@aws-sdk/client-kms';
import { startTestServer, type TestServer } from '../helpers/server.js';

const MESSAGE =
  'You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls.';
/** CreateKey 5/s × 0.02 = 1 in each 10 s; DescribeKey 40/s; symmetric crypto 2,000/s; ECC 6/s. */
const SCALE = '0.02';
const OTHER = '444455556666';
const OTHER_ROOT = ['AKIAQUOTAOTHERROOT01', 'quotaOtherRootSecret0123456789abcdefghij'] as const;

interface Settled {
  ok: number;
  throttled: (Error & { $metadata?: { httpStatusCode?: number } })[];
}

async function burst(n: number, call: () => Promise<unknown>): Promise<Settled> {
  const results = await Promise.allSettled(Array.from({ length: n }, call));
  const out: Settled = { ok: 0, throttled: [] };
  for (const r of results) {
    if (r.status === 'fulfilled') out.ok++;
    else {
      const e = r.reason as Error & { $metadata?: { httpStatusCode?: number } };
      if (e.name !== 'ThrottlingException') throw e;
      out.throttled.push(e);
    }
  }
  return out;
}

describe('request quotas', () => {
  let server: TestServer;
  let tmp: string;
  let other: KMSClient;

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'keyhold-quota-'));
    writeFileSync(join(tmp, 'other.secret'), OTHER_ROOT[1]);
    writeFileSync(
      join(tmp, 'seed.json'),
      JSON.stringify({
        accounts: [
          {
            id: OTHER,
            rootAccessKeys: [{ accessKeyId: OTHER_ROOT[0], secretAccessKeyFile: 'other.secret' }],
          },
        ],
      }),
    );
    server = await startTestServer({
      env: {
        KEYHOLD_QUOTAS: 'on',
        KEYHOLD_QUOTA_SCALE: SCALE,
        KEYHOLD_SEED_FILE: join(tmp, 'seed.json'),
      },
    });
    other = server.clientWith(OTHER_ROOT[0], OTHER_ROOT[1]);
  });

  after(async () => {
    other.destroy();
    await server.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('throttles a burst past the quota with AWS ThrottlingException, then refills with the clock', async () => {
    const first = await burst(5, () => server.client.send(new CreateKeyCommand({})));
    assert.equal(first.ok, 1);
    assert.equal(first.throttled.length, 4);
    for (const e of first.throttled) {
      assert.equal(e.message, MESSAGE);
      assert.equal(e.$metadata?.httpStatusCode, 400);
    }
    // Other quotas are calculated independently.
    await server.client.send(new DescribeKeyCommand({ KeyId: 'alias/aws/does-not-matter' })).then(
      () => assert.fail('expected NotFoundException'),
      (e: Error) => assert.equal(e.name, 'NotFoundException'),
    );
    server.clock.advance(10_000);
    const second = await burst(3, () => server.client.send(new CreateKeyCommand({})));
    assert.equal(second.ok, 1);
    assert.equal(second.throttled.length, 2);
  });

  it('keeps quotas per account: another account is not throttled', async () => {
    // This account's CreateKey bucket is empty (the test above); the other account's is full.
    await assert.rejects(server.client.send(new CreateKeyCommand({})), {
      name: 'ThrottlingException',
    });
    const created = await other.send(new CreateKeyCommand({}));
    assert.match(created.KeyMetadata?.Arn ?? '', new RegExp(`:${OTHER}:key/`));
  });

  it('shares a quota per key type: ECC signing is throttled, symmetric Encrypt is not', async () => {
    server.clock.advance(10_000);
    const ecc = await server.client.send(
      new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }),
    );
    server.clock.advance(10_000);
    const sym = await server.client.send(new CreateKeyCommand({}));
    const sign = () =>
      server.client.send(
        new SignCommand({
          KeyId: ecc.KeyMetadata?.KeyId,
          Message: Buffer.alloc(32, 1),
          MessageType: 'RAW',
          SigningAlgorithm: 'ECDSA_SHA_256',
        }),
      );
    const signs = await burst(10, sign);
    assert.equal(signs.ok, 6); // ECC 300/s × 0.02
    assert.equal(signs.throttled.length, 4);
    const encrypts = await burst(10, () =>
      server.client.send(
        new EncryptCommand({ KeyId: sym.KeyMetadata?.KeyId, Plaintext: Buffer.from('x') }),
      ),
    );
    assert.equal(encrypts.ok, 10);
  });
});

describe('KEYHOLD_QUOTAS=off', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({
      env: { KEYHOLD_QUOTAS: 'off', KEYHOLD_QUOTA_SCALE: SCALE },
    });
  });
  after(() => server.stop());

  it('never throttles', async () => {
    const r = await burst(10, () => server.client.send(new CreateKeyCommand({})));
    assert.equal(r.ok, 10);
  });
});
