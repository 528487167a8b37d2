/**
 * The AWS Encryption SDK for JavaScript (Node) with a KMS keyring pointed at keyhold:
 * envelope encryption of a multi-MiB message, round trip, wrong key and tampering.
 *
 * The keyring needs a client with the aggregated v3 methods (encrypt, decrypt,
 * generateDataKey), so the client provider is `getClient(KMS, { endpoint, credentials })`
 * rather than the harness' bare KMSClient.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { CreateAliasCommand, CreateKeyCommand } from '@aws-sdk/client-kms';
import {
  buildClient,
  CommitmentPolicy,
  getClient,
  KMS,
  KmsKeyringNode,
} from '@aws-crypto/client-node';
import {
  startTestServer,
  TEST_ACCESS_KEY_ID,
  TEST_SECRET_ACCESS_KEY,
  type TestServer,
} from '../helpers/server.js';

const { encrypt, decrypt } = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);

const CONTEXT = { purpose: 'esdk-integration', tenant: 'acme', 'unicode-ключ': 'värde' };

describe('AWS Encryption SDK (KmsKeyringNode) against keyhold', () => {
  let server: TestServer;
  let keyArn: string;
  let otherKeyArn: string;
  let aliasArn: string;
  let plaintext: Buffer;
  let message: Buffer;

  function keyring(generatorKeyId: string): KmsKeyringNode {
    return new KmsKeyringNode({
      generatorKeyId,
      clientProvider: getClient(KMS, {
        endpoint: server.url,
        credentials: {
          accessKeyId: TEST_ACCESS_KEY_ID,
          secretAccessKey: TEST_SECRET_ACCESS_KEY,
        },
        maxAttempts: 1,
      }),
    });
  }

  before(async () => {
    server = await startTestServer();
    const k1 = await server.client.send(new CreateKeyCommand({ Description: 'esdk' }));
    const k2 = await server.client.send(new CreateKeyCommand({ Description: 'esdk other' }));
    keyArn = k1.KeyMetadata?.Arn ?? '';
    otherKeyArn = k2.KeyMetadata?.Arn ?? '';
    assert.match(keyArn, /^arn:aws:kms:us-east-1:\d{12}:key\//);
    assert.match(otherKeyArn, /^arn:aws:kms:us-east-1:\d{12}:key\//);
    await server.client.send(
      new CreateAliasCommand({ AliasName: 'alias/esdk', TargetKeyId: k1.KeyMetadata?.KeyId }),
    );
    aliasArn = keyArn.replace(/:key\/.*$/, ':alias/esdk');
    plaintext = randomBytes(5 * 1024 * 1024);
    const out = await encrypt(keyring(keyArn), plaintext, { encryptionContext: CONTEXT });
    message = out.result;
  });
  after(async () => {
    await server.stop();
  });

  it('encrypts 5 MiB into a message whose one EDK is wrapped by the key ARN', async () => {
    assert.ok(message.length > plaintext.length, 'message carries header, frames, signature');
    assert.equal(message.indexOf(plaintext.subarray(0, 4096)), -1, 'no plaintext in message');
    const { messageHeader } = await decrypt(keyring(keyArn), message);
    assert.equal(messageHeader.encryptedDataKeys.length, 1);
    const edk = messageHeader.encryptedDataKeys[0];
    assert.equal(edk?.providerId, 'aws-kms');
    assert.equal(edk?.providerInfo, keyArn);
  });

  it('decrypts back to the input and returns the encryption context', async () => {
    const { plaintext: out, messageHeader } = await decrypt(keyring(keyArn), message);
    assert.equal(out.length, plaintext.length);
    assert.ok(Buffer.from(out).equals(plaintext), 'decrypted bytes equal the input');
    for (const [k, v] of Object.entries(CONTEXT)) {
      assert.equal(messageHeader.encryptionContext[k], v, `context ${k}`);
    }
  });

  it('fails to decrypt with a keyring whose generator is another key', async () => {
    await assert.rejects(
      decrypt(keyring(otherKeyArn), message),
      /unencryptedDataKey has not been set/,
    );
  });

  it('fails to decrypt a message with one flipped byte in the body', async () => {
    const tampered = Buffer.from(message);
    const i = Math.floor(tampered.length / 2);
    tampered[i] = (tampered[i] ?? 0) ^ 0x01;
    await assert.rejects(decrypt(keyring(keyArn), tampered));
  });

  it('fails to decrypt a message with a flipped byte in the EDK (KMS ciphertext)', async () => {
    const { messageHeader } = await decrypt(keyring(keyArn), message);
    const edk = messageHeader.encryptedDataKeys[0]?.encryptedDataKey;
    assert.ok(edk !== undefined);
    const at = message.indexOf(Buffer.from(edk));
    assert.ok(at > 0, 'EDK found in the serialized header');
    const tampered = Buffer.from(message);
    const j = at + edk.length - 1;
    tampered[j] = (tampered[j] ?? 0) ^ 0x01;
    await assert.rejects(decrypt(keyring(keyArn), tampered));
  });

  it('fails to decrypt a truncated message', async () => {
    await assert.rejects(decrypt(keyring(keyArn), message.subarray(0, message.length - 100)));
  });

  it('an alias ARN generator encrypts; the EDK names the key ARN, so only the key ARN decrypts', async () => {
    const small = randomBytes(10_000);
    const { result } = await encrypt(keyring(aliasArn), small, { encryptionContext: CONTEXT });
    const { plaintext: out, messageHeader } = await decrypt(keyring(keyArn), result);
    assert.ok(Buffer.from(out).equals(small));
    assert.equal(messageHeader.encryptedDataKeys[0]?.providerInfo, keyArn);
    // ESDK matches EDKs against the keyring's ids literally: an alias ARN never matches.
    await assert.rejects(decrypt(keyring(aliasArn), result), /unencryptedDataKey has not been set/);
  });
});
