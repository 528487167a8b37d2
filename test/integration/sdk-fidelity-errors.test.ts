/**
 * Fidelity, part 1: errors AWS sends without a message (the body has no `message` member),
 * CurrentKeyMaterialId, and key identifiers (Invalid keyId, Invalid arn, does not exist).
 * Whole bodies through raw SigV4-signed HTTP, plus the SDK and the CLI where they show it;
 * wording recorded from real KMS answers in public test fixtures.
 */
import { createECDH, generateKeyPairSync, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DescribeKeyCommand, VerifyCommand } from '@aws-sdk/client-kms';
import { callAdmin } from '../../src/cli/admin-commands.js';
import {
  ARN_PREFIX,
  OTHER_REGION,
  ROOT_CREDENTIALS,
  b64,
  fidelityHarness,
  flipped,
} from '../helpers/fidelity.js';
import { TEST_REGION, expectAwsError } from '../helpers/server.js';

const h = fidelityHarness();
const { ok, fails, createKey, describe_, importMaterial, awsCli } = h;

describe('errors AWS sends without a message have no message member', () => {
  it('InvalidCiphertextException (Decrypt of a tampered ciphertext)', async () => {
    const key = await createKey();
    const enc = await ok('Encrypt', { KeyId: key.KeyId, Plaintext: b64(Buffer.from('hi')) });
    const good = Buffer.from(enc.CiphertextBlob as string, 'base64');
    const blob = flipped(good, good.length - 1);
    await fails('Decrypt', { CiphertextBlob: b64(blob) }, { __type: 'InvalidCiphertextException' });
  });

  it('InvalidCiphertextException: wrong encryption context, RSA garbage and short input', async () => {
    const key = await createKey();
    const enc = await ok('Encrypt', {
      KeyId: key.KeyId,
      Plaintext: b64(Buffer.from('hi')),
      EncryptionContext: { a: 'b' },
    });
    await fails(
      'Decrypt',
      { CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { a: 'c' } },
      { __type: 'InvalidCiphertextException' },
    );
    const rsa = await createKey({ KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT' });
    for (const blob of [Buffer.alloc(256, 1), Buffer.alloc(10, 1)]) {
      await fails(
        'Decrypt',
        { KeyId: rsa.KeyId, CiphertextBlob: b64(blob), EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' },
        { __type: 'InvalidCiphertextException' },
      );
    }
  });

  it('KMSInvalidSignatureException (Verify), also as the SDK and the CLI see it', async () => {
    const key = await createKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' });
    const message = b64(Buffer.from('signed'));
    const sig = await ok('Sign', {
      KeyId: key.KeyId,
      Message: message,
      SigningAlgorithm: 'ECDSA_SHA_256',
    });
    const good = Buffer.from(sig.Signature as string, 'base64');
    const bad = flipped(good, good.length - 1);
    const input = {
      KeyId: key.KeyId,
      Message: message,
      Signature: b64(bad),
      SigningAlgorithm: 'ECDSA_SHA_256',
    };
    await fails('Verify', input, { __type: 'KMSInvalidSignatureException' });
    const err = await expectAwsError(
      h.server().client.send(
        new VerifyCommand({
          KeyId: key.KeyId,
          Message: Buffer.from('signed'),
          Signature: bad,
          SigningAlgorithm: 'ECDSA_SHA_256',
        }),
      ),
      'KMSInvalidSignatureException',
    );
    assert.equal(err.$metadata?.httpStatusCode, 400);
    // The CLI prints the error with nothing after the colon.
    const cli = await awsCli([
      'kms',
      'verify',
      '--key-id',
      key.KeyId,
      '--message',
      message,
      '--signature',
      b64(bad),
      '--signing-algorithm',
      'ECDSA_SHA_256',
    ]);
    assert.notEqual(cli.code, 0);
    assert.match(
      cli.stderr,
      /An error occurred \(KMSInvalidSignatureException\) when calling the Verify operation( \(reached max retries: \d+\))?: $/m,
    );
  });

  it('KMSInvalidMacException (VerifyMac with a wrong MAC)', async () => {
    const key = await createKey({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' });
    const input = {
      KeyId: key.KeyId,
      Message: b64(Buffer.from('m')),
      MacAlgorithm: 'HMAC_SHA_256',
    };
    const mac = flipped(Buffer.from((await ok('GenerateMac', input)).Mac as string, 'base64'), 0);
    await fails('VerifyMac', { ...input, Mac: b64(mac) }, { __type: 'KMSInvalidMacException' });
  });

  it('UnsupportedOperationException (RotateKeyOnDemand of an RSA or HMAC key)', async () => {
    for (const spec of [
      { KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT' },
      { KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' },
    ]) {
      const key = await createKey(spec);
      await fails(
        'RotateKeyOnDemand',
        { KeyId: key.KeyId },
        { __type: 'UnsupportedOperationException' },
      );
    }
  });

  it('ValidationException (DeriveSharedSecret with a bad public key)', async () => {
    const key = await createKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'KEY_AGREEMENT' });
    const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey.export({
      format: 'der',
      type: 'spki',
    });
    const rawPoint = createECDH('prime256v1').generateKeys(); // not a SubjectPublicKeyInfo
    for (const pub of [p384, rawPoint, randomBytes(40)]) {
      await fails(
        'DeriveSharedSecret',
        { KeyId: key.KeyId, KeyAgreementAlgorithm: 'ECDH', PublicKey: b64(pub) },
        { __type: 'ValidationException' },
      );
    }
  });

  it('the audit event of an error without a message has an errorCode and no errorMessage', async () => {
    const key = await createKey({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' });
    const input = {
      KeyId: key.KeyId,
      Message: b64(Buffer.from('m')),
      MacAlgorithm: 'HMAC_SHA_256',
    };
    await fails(
      'VerifyMac',
      { ...input, Mac: b64(Buffer.alloc(32)) },
      { __type: 'KMSInvalidMacException' },
    );
    await fails(
      'VerifyMac',
      { ...input, MacAlgorithm: 'HMAC_SHA_512', Mac: b64(Buffer.alloc(64)) },
      {
        __type: 'InvalidKeyUsageException',
        message: 'Algorithm HMAC_SHA_512 is incompatible with key spec HMAC_256.',
      },
    );
    const out = (await callAdmin(
      'QueryAudit',
      { KeyArn: key.Arn, EventName: 'VerifyMac' },
      {
        endpointUrl: h.server().url,
        region: TEST_REGION,
        credentials: ROOT_CREDENTIALS,
      },
    )) as { Events: Record<string, unknown>[] };
    assert.equal(out.Events.length, 2);
    const [bare, worded] = out.Events as [Record<string, unknown>, Record<string, unknown>];
    assert.equal(bare.errorCode, 'KMSInvalidMacException');
    assert.equal('errorMessage' in bare, false);
    assert.equal(worded.errorCode, 'InvalidKeyUsageException');
    assert.equal(
      worded.errorMessage,
      'Algorithm HMAC_SHA_512 is incompatible with key spec HMAC_256.',
    );
  });

  it('errors that have a message still carry it', async () => {
    const id = '00000000-1111-2222-3333-444444444444';
    await fails(
      'DescribeKey',
      { KeyId: id },
      { __type: 'NotFoundException', message: `Key '${ARN_PREFIX}:key/${id}' does not exist` },
    );
  });
});

describe('CurrentKeyMaterialId', () => {
  it('is present for symmetric encryption keys', async () => {
    const key = await createKey();
    assert.match(String(key.CurrentKeyMaterialId), /^[0-9a-f]{64}$/);
    assert.equal((await describe_(key.KeyId)).CurrentKeyMaterialId, key.CurrentKeyMaterialId);
  });

  for (const [spec, usage] of [
    ['HMAC_256', 'GENERATE_VERIFY_MAC'],
    ['RSA_2048', 'ENCRYPT_DECRYPT'],
    ['RSA_2048', 'SIGN_VERIFY'],
    ['ECC_NIST_P256', 'SIGN_VERIFY'],
    ['ECC_NIST_P256', 'KEY_AGREEMENT'],
  ] as const) {
    it(`is absent for ${spec} ${usage} keys`, async () => {
      const key = await createKey({ KeySpec: spec, KeyUsage: usage });
      assert.equal('CurrentKeyMaterialId' in key, false);
      assert.equal('CurrentKeyMaterialId' in (await describe_(key.KeyId)), false);
    });
  }

  it('is absent for an HMAC key with imported material (whatever the origin)', async () => {
    const key = await createKey({
      KeySpec: 'HMAC_256',
      KeyUsage: 'GENERATE_VERIFY_MAC',
      Origin: 'EXTERNAL',
    });
    await importMaterial(key.KeyId, randomBytes(32));
    const md = await describe_(key.KeyId);
    assert.equal(md.KeyState, 'Enabled');
    assert.equal('CurrentKeyMaterialId' in md, false);
  });

  it('stays after DeleteImportedKeyMaterial, as AWS keeps it', async () => {
    const key = await createKey({ Origin: 'EXTERNAL' });
    assert.equal('CurrentKeyMaterialId' in key, false, 'no material yet');
    const materialId = await importMaterial(key.KeyId, randomBytes(32));
    assert.equal((await describe_(key.KeyId)).CurrentKeyMaterialId, materialId);
    await ok('DeleteImportedKeyMaterial', { KeyId: key.KeyId });
    const md = await describe_(key.KeyId);
    assert.equal(md.KeyState, 'PendingImport');
    assert.equal(md.CurrentKeyMaterialId, materialId);
  });
});

describe('key identifiers', () => {
  for (const bad of [
    'fake-key-id',
    '134f2428cec14b25a1ae9048164dba47',
    'mrk-fake-key-id',
    'mrk-1234',
  ]) {
    it(`a malformed key id ${bad} → NotFoundException "Invalid keyId '${bad}'"`, async () => {
      await fails(
        'DescribeKey',
        { KeyId: bad },
        { __type: 'NotFoundException', message: `Invalid keyId '${bad}'` },
      );
    });
  }

  it('a key ARN with a malformed key id names the id part', async () => {
    await fails(
      'DescribeKey',
      { KeyId: `${ARN_PREFIX}:key/foo` },
      { __type: 'NotFoundException', message: 'Invalid keyId foo' },
    );
  });

  it('only a well-formed id of an absent key → "Key \'<arn>\' does not exist"', async () => {
    for (const id of ['786CA7CD-B74B-42B3-B887-902AD7AB6429', `mrk-${'1a'.repeat(16)}`]) {
      await fails(
        'DescribeKey',
        { KeyId: id },
        { __type: 'NotFoundException', message: `Key '${ARN_PREFIX}:key/${id}' does not exist` },
      );
    }
  });

  it('a key ARN of a Region the request is not for → "Invalid arn <region>"', async () => {
    const key = await createKey({}, OTHER_REGION);
    await fails(
      'DescribeKey',
      { KeyId: key.Arn },
      { __type: 'NotFoundException', message: `Invalid arn ${OTHER_REGION}` },
    );
    // its bare id names the key of the request's Region, which does not exist
    await fails(
      'DescribeKey',
      { KeyId: key.KeyId },
      {
        __type: 'NotFoundException',
        message: `Key '${ARN_PREFIX}:key/${key.KeyId}' does not exist`,
      },
    );
  });

  it('an alias where the operation takes key ids only → InvalidArnException', async () => {
    const key = await createKey();
    await ok('CreateAlias', { AliasName: 'alias/fidelity-only-keys', TargetKeyId: key.KeyId });
    for (const id of ['alias/fidelity-only-keys', `${ARN_PREFIX}:alias/fidelity-only-keys`]) {
      await fails(
        'DisableKey',
        { KeyId: id },
        {
          __type: 'InvalidArnException',
          message: 'Key Aliases are not supported for this operation.',
        },
      );
    }
    assert.equal((await describe_(key.KeyId)).KeyState, 'Enabled', 'nothing changed');
  });

  it('the SDK and the CLI show the same message', async () => {
    const err = await expectAwsError(
      h.server().client.send(new DescribeKeyCommand({ KeyId: 'fake-key-id' })),
      'NotFoundException',
    );
    assert.equal(err.message, "Invalid keyId 'fake-key-id'");
    const cli = await awsCli(['kms', 'describe-key', '--key-id', 'fake-key-id']);
    assert.notEqual(cli.code, 0);
    assert.match(
      cli.stderr,
      /An error occurred \(NotFoundException\) when calling the DescribeKey operation( \(reached max retries: \d+\))?: Invalid keyId 'fake-key-id'$/m,
    );
  });
});
