/** HMAC KMS keys through the real AWS SDK: CreateKey, GenerateMac, VerifyMac and their errors. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CreateKeyCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EncryptCommand,
  GenerateMacCommand,
  SignCommand,
  VerifyMacCommand,
  type KeySpec,
  type MacAlgorithmSpec,
} from '@aws-sdk/client-kms';
import { expectAwsError, startTestServer, type TestServer } from '../helpers/server.js';

let server: TestServer;

before(async () => {
  server = await startTestServer();
});

after(async () => {
  await server.stop();
});

async function hmacKey(spec: string): Promise<string> {
  const out = await server.client.send(
    new CreateKeyCommand({ KeySpec: spec as KeySpec, KeyUsage: 'GENERATE_VERIFY_MAC' }),
  );
  assert.ok(out.KeyMetadata?.Arn);
  assert.deepEqual(out.KeyMetadata.MacAlgorithms, [`HMAC_SHA_${spec.slice(5)}`]);
  assert.equal(out.KeyMetadata.EncryptionAlgorithms, undefined);
  return out.KeyMetadata.Arn;
}

describe('GenerateMac / VerifyMac', () => {
  for (const bits of [224, 256, 384, 512]) {
    it(`HMAC_${bits}`, async () => {
      const arn = await hmacKey(`HMAC_${bits}`);
      const alg = `HMAC_SHA_${bits}` as MacAlgorithmSpec;
      const message = Buffer.from(`message for HMAC_${bits}`);
      const out = await server.client.send(
        new GenerateMacCommand({ KeyId: arn, Message: message, MacAlgorithm: alg }),
      );
      assert.equal(out.KeyId, arn);
      assert.equal(out.MacAlgorithm, alg);
      assert.equal(out.Mac?.length, bits / 8);
      const again = await server.client.send(
        new GenerateMacCommand({ KeyId: arn, Message: message, MacAlgorithm: alg }),
      );
      assert.deepEqual(again.Mac, out.Mac, 'HMAC is deterministic');
      const ok = await server.client.send(
        new VerifyMacCommand({ KeyId: arn, Message: message, MacAlgorithm: alg, Mac: out.Mac }),
      );
      assert.equal(ok.MacValid, true);
      assert.equal(ok.MacAlgorithm, alg);
      assert.equal(ok.KeyId, arn);
      const bad = Buffer.from(out.Mac ?? []);
      bad[bad.length - 1] = (bad[bad.length - 1] as number) ^ 1;
      await expectAwsError(
        server.client.send(
          new VerifyMacCommand({ KeyId: arn, Message: message, MacAlgorithm: alg, Mac: bad }),
        ),
        'KMSInvalidMacException',
      );
      await expectAwsError(
        server.client.send(
          new VerifyMacCommand({
            KeyId: arn,
            Message: message,
            MacAlgorithm: alg,
            Mac: bad.subarray(1),
          }),
        ),
        'KMSInvalidMacException',
      );
      await expectAwsError(
        server.client.send(
          new VerifyMacCommand({
            KeyId: arn,
            Message: Buffer.from('another message'),
            MacAlgorithm: alg,
            Mac: out.Mac,
          }),
        ),
        'KMSInvalidMacException',
      );
    });
  }

  it('different keys of the same spec give different MACs', async () => {
    const a = await hmacKey('HMAC_256');
    const b = await hmacKey('HMAC_256');
    const mac = (k: string) =>
      server.client.send(
        new GenerateMacCommand({
          KeyId: k,
          Message: Buffer.from('m'),
          MacAlgorithm: 'HMAC_SHA_256',
        }),
      );
    assert.notDeepEqual((await mac(a)).Mac, (await mac(b)).Mac);
    await expectAwsError(
      server.client.send(
        new VerifyMacCommand({
          KeyId: b,
          Message: Buffer.from('m'),
          MacAlgorithm: 'HMAC_SHA_256',
          Mac: (await mac(a)).Mac,
        }),
      ),
      'KMSInvalidMacException',
    );
  });

  it('errors: algorithm of another spec, wrong usage, HMAC key used to encrypt or sign, disabled key', async () => {
    const arn = await hmacKey('HMAC_384');
    const m = Buffer.from('m');
    await expectAwsError(
      server.client.send(
        new GenerateMacCommand({ KeyId: arn, Message: m, MacAlgorithm: 'HMAC_SHA_256' }),
      ),
      'InvalidKeyUsageException',
    );
    await expectAwsError(
      server.client.send(
        new VerifyMacCommand({ KeyId: arn, Message: m, MacAlgorithm: 'HMAC_SHA_512', Mac: m }),
      ),
      'InvalidKeyUsageException',
    );
    const sym = (await server.client.send(new CreateKeyCommand({}))).KeyMetadata?.Arn;
    await expectAwsError(
      server.client.send(
        new GenerateMacCommand({ KeyId: sym, Message: m, MacAlgorithm: 'HMAC_SHA_256' }),
      ),
      'InvalidKeyUsageException',
    );
    await expectAwsError(
      server.client.send(new EncryptCommand({ KeyId: arn, Plaintext: m })),
      'InvalidKeyUsageException',
    );
    await expectAwsError(
      server.client.send(
        new SignCommand({ KeyId: arn, Message: m, SigningAlgorithm: 'ECDSA_SHA_256' }),
      ),
      'InvalidKeyUsageException',
    );
    await expectAwsError(
      server.client.send(
        new CreateKeyCommand({ KeySpec: 'HMAC_256', KeyUsage: 'ENCRYPT_DECRYPT' }),
      ),
      'ValidationException',
    );
    await server.client.send(new DisableKeyCommand({ KeyId: arn }));
    await expectAwsError(
      server.client.send(
        new GenerateMacCommand({ KeyId: arn, Message: m, MacAlgorithm: 'HMAC_SHA_384' }),
      ),
      'DisabledException',
    );
    const md = await server.client.send(new DescribeKeyCommand({ KeyId: arn }));
    assert.equal(md.KeyMetadata?.KeySpec, 'HMAC_384');
  });
});
