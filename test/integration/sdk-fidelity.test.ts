/**
 * Fidelity: the whole error response (HTTP status, `__type`, and the exact `message` or its
 * absence) and the response members where AWS is particular, through raw SigV4-signed HTTP
 * (the exact body), the AWS SDK and the AWS CLI. Wording is AWS's own, as recorded from real
 * KMS responses in public test fixtures.
 */
import { execFile } from 'node:child_process';
import {
  constants,
  createECDH,
  createPublicKey,
  generateKeyPairSync,
  publicEncrypt,
  randomBytes,
} from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DescribeKeyCommand, VerifyCommand } from '@aws-sdk/client-kms';
import { callAdmin } from '../../src/cli/admin-commands.js';
import { rawKms, type RawKmsResponse } from '../helpers/raw-kms.js';
import {
  TEST_ACCESS_KEY_ID,
  TEST_ACCOUNT_ID,
  TEST_REGION,
  TEST_SECRET_ACCESS_KEY,
  expectAwsError,
  startTestServer,
  type TestServer,
} from '../helpers/server.js';

const OTHER_REGION = 'us-west-2';
const ARN_PREFIX = `arn:aws:kms:${TEST_REGION}:${TEST_ACCOUNT_ID}`;

let server: TestServer;

before(async () => {
  server = await startTestServer({ env: { KEYHOLD_REGIONS: OTHER_REGION } });
});

after(async () => {
  await server.stop();
});

function call(
  op: string,
  input: Record<string, unknown>,
  region?: string,
): Promise<RawKmsResponse> {
  return rawKms(server.url, op, input, region);
}

async function ok(
  op: string,
  input: Record<string, unknown>,
  region?: string,
): Promise<Record<string, unknown>> {
  const res = await call(op, input, region);
  assert.equal(res.status, 200, `${op}: ${JSON.stringify(res.body)}`);
  return res.body;
}

/** The request fails with exactly this body (so `message` is there, or absent, as given). */
async function fails(
  op: string,
  input: Record<string, unknown>,
  body: { __type: string; message?: string },
  region?: string,
): Promise<void> {
  const res = await call(op, input, region);
  assert.equal(res.status, 400, `${op}: ${JSON.stringify(res.body)}`);
  assert.deepEqual(res.body, body);
}

type Metadata = Record<string, unknown> & { KeyId: string; Arn: string };

async function createKey(input: Record<string, unknown> = {}, region?: string): Promise<Metadata> {
  return (await ok('CreateKey', input, region)).KeyMetadata as Metadata;
}

async function describe_(keyId: string): Promise<Metadata> {
  return (await ok('DescribeKey', { KeyId: keyId })).KeyMetadata as Metadata;
}

const b64 = (b: Buffer): string => b.toString('base64');

/** The same bytes with one bit of byte `i` flipped. */
function flipped(b: Buffer, i: number): Buffer {
  const out = Buffer.from(b);
  out.writeUInt8(out.readUInt8(i) ^ 1, i);
  return out;
}

/** Import `material` into an EXTERNAL key (RSAES_OAEP_SHA_256 under an RSA_2048 wrapping key). */
async function importMaterial(keyId: string, material: Buffer): Promise<string> {
  const params = await ok('GetParametersForImport', {
    KeyId: keyId,
    WrappingAlgorithm: 'RSAES_OAEP_SHA_256',
    WrappingKeySpec: 'RSA_2048',
  });
  const wrappingKey = createPublicKey({
    key: Buffer.from(params.PublicKey as string, 'base64'),
    format: 'der',
    type: 'spki',
  });
  const wrapped = publicEncrypt(
    { key: wrappingKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
    material,
  );
  const out = await ok('ImportKeyMaterial', {
    KeyId: keyId,
    ImportToken: params.ImportToken,
    EncryptedKeyMaterial: b64(wrapped),
    ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE',
  });
  return out.KeyMaterialId as string;
}

describe('errors AWS sends without a message have no message member', () => {
  it('InvalidCiphertextException (Decrypt of a tampered ciphertext)', async () => {
    const key = await createKey();
    const enc = await ok('Encrypt', { KeyId: key.KeyId, Plaintext: b64(Buffer.from('hi')) });
    const good = Buffer.from(enc.CiphertextBlob as string, 'base64');
    const blob = flipped(good, good.length - 1);
    await fails('Decrypt', { CiphertextBlob: b64(blob) }, { __type: 'InvalidCiphertextException' });
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
      server.client.send(
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
        endpointUrl: server.url,
        region: TEST_REGION,
        credentials: { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY },
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
      server.client.send(new DescribeKeyCommand({ KeyId: 'fake-key-id' })),
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

describe('messages word for word', () => {
  it('RSA plaintext over the limit', async () => {
    const key = await createKey({ KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT' });
    const input = { KeyId: key.KeyId, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' };
    await ok('Encrypt', { ...input, Plaintext: b64(Buffer.alloc(190, 1)) });
    await fails(
      'Encrypt',
      { ...input, Plaintext: b64(Buffer.alloc(191, 1)) },
      {
        __type: 'ValidationException',
        message:
          'Algorithm RSAES_OAEP_SHA_256 and key spec RSA_2048 cannot encrypt data larger than 190 bytes.',
      },
    );
  });

  it('CreateKey: reserved tag, incompatible usage, KeySpec with CustomerMasterKeySpec', async () => {
    await fails(
      'CreateKey',
      { Tags: [{ TagKey: 'aws:owner', TagValue: 'x' }] },
      { __type: 'TagException', message: 'Tags beginning with aws: are reserved' },
    );
    await fails(
      'CreateKey',
      { KeySpec: 'RSA_2048', KeyUsage: 'KEY_AGREEMENT' },
      {
        __type: 'ValidationException',
        message: 'KeyUsage KEY_AGREEMENT is not compatible with KeySpec RSA_2048',
      },
    );
    await fails(
      'CreateKey',
      { KeySpec: 'SYMMETRIC_DEFAULT', CustomerMasterKeySpec: 'SYMMETRIC_DEFAULT' },
      {
        __type: 'ValidationException',
        message:
          'You cannot specify KeySpec and CustomerMasterKeySpec in the same request. CustomerMasterKeySpec is deprecated.',
      },
    );
  });

  it('GenerateRandom without NumberOfBytes', async () => {
    await fails(
      'GenerateRandom',
      {},
      { __type: 'ValidationException', message: 'NumberOfBytes is required.' },
    );
  });

  it('ImportKeyMaterial: KEY_MATERIAL_EXPIRES (the default) without ValidTo', async () => {
    const key = await createKey({ Origin: 'EXTERNAL' });
    const params = await ok('GetParametersForImport', {
      KeyId: key.KeyId,
      WrappingAlgorithm: 'RSAES_OAEP_SHA_256',
      WrappingKeySpec: 'RSA_2048',
    });
    await fails(
      'ImportKeyMaterial',
      {
        KeyId: key.KeyId,
        ImportToken: params.ImportToken,
        EncryptedKeyMaterial: b64(randomBytes(256)),
      },
      {
        __type: 'ValidationException',
        message: 'A validTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES',
      },
    );
    assert.equal((await describe_(key.KeyId)).KeyState, 'PendingImport');
  });

  it('ReplicateKey of a replica: multi-region as AWS spells it', async () => {
    const primary = await createKey({ MultiRegion: true });
    await ok('ReplicateKey', { KeyId: primary.KeyId, ReplicaRegion: OTHER_REGION });
    const replicaArn = primary.Arn.replace(`:${TEST_REGION}:`, `:${OTHER_REGION}:`);
    // The replica is Creating for a moment, as in AWS; wait like a real client.
    for (let i = 0; i < 200; i++) {
      const d = await ok('DescribeKey', { KeyId: replicaArn }, OTHER_REGION);
      if ((d['KeyMetadata'] as { KeyState?: string }).KeyState === 'Enabled') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await fails(
      'ReplicateKey',
      { KeyId: primary.KeyId, ReplicaRegion: TEST_REGION },
      {
        __type: 'UnsupportedOperationException',
        message: `${replicaArn} is not a multi-region primary key.`,
      },
      OTHER_REGION,
    );
  });

  it('a long value is echoed whole in the validation message', async () => {
    const value = 'v'.repeat(300);
    await fails(
      'CreateKey',
      { Tags: [{ TagKey: 'k', TagValue: value }] },
      {
        __type: 'ValidationException',
        message: `1 validation error detected: Value '${value}' at 'tags.1.member.tagValue' failed to satisfy constraint: Member must have length less than or equal to 256`,
      },
    );
  });

  it('tags: duplicate keys and more than 50 are TagExceptions that change nothing', async () => {
    const many = Array.from({ length: 51 }, (_, i) => ({ TagKey: `t${i}`, TagValue: 'v' }));
    const dup = [
      { TagKey: 'k', TagValue: '1' },
      { TagKey: 'k', TagValue: '2' },
    ];
    await fails(
      'CreateKey',
      { Tags: dup },
      { __type: 'TagException', message: 'Duplicate tag keys' },
    );
    await fails('CreateKey', { Tags: many }, { __type: 'TagException', message: 'Too many tags' });
    const key = await createKey({ Tags: [{ TagKey: 'keep', TagValue: 'me' }] });
    await fails(
      'TagResource',
      { KeyId: key.KeyId, Tags: dup },
      { __type: 'TagException', message: 'Duplicate tag keys' },
    );
    await fails(
      'TagResource',
      { KeyId: key.KeyId, Tags: many },
      { __type: 'TagException', message: 'Too many tags' },
    );
    const tags = await ok('ListResourceTags', { KeyId: key.KeyId });
    assert.deepEqual(tags.Tags, [{ TagKey: 'keep', TagValue: 'me' }]);
  });

  it('alias names: a colon is refused with AWS message, nothing is created', async () => {
    const key = await createKey();
    await fails(
      'CreateAlias',
      { AliasName: 'alias/a:b', TargetKeyId: key.KeyId },
      {
        __type: 'ValidationException',
        message: 'alias/a:b contains invalid characters for an alias',
      },
    );
    const aliases = await ok('ListAliases', { KeyId: key.KeyId });
    assert.deepEqual(aliases.Aliases, []);
  });

  it('an alias cannot be the target of an alias (CreateAlias, UpdateAlias)', async () => {
    const key = await createKey();
    await ok('CreateAlias', { AliasName: 'alias/fidelity-target', TargetKeyId: key.KeyId });
    for (const op of ['CreateAlias', 'UpdateAlias']) {
      for (const target of ['alias/fidelity-target', `${ARN_PREFIX}:alias/fidelity-target`]) {
        await fails(
          op,
          {
            AliasName: op === 'CreateAlias' ? 'alias/fidelity-other' : 'alias/fidelity-target',
            TargetKeyId: target,
          },
          { __type: 'ValidationException', message: 'Aliases must refer to keys. Not aliases' },
        );
      }
    }
    const aliases = await ok('ListAliases', { KeyId: key.KeyId });
    assert.deepEqual(
      (aliases.Aliases as { AliasName: string }[]).map((a) => a.AliasName),
      ['alias/fidelity-target'],
    );
  });

  it('RotateKeyOnDemand checks the key state before the key spec', async () => {
    const key = await createKey({ KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT' });
    await ok('DisableKey', { KeyId: key.KeyId });
    await fails(
      'RotateKeyOnDemand',
      { KeyId: key.KeyId },
      { __type: 'DisabledException', message: `${key.Arn} is disabled.` },
    );
  });
});

describe('check order and messages of key usage, key state and key spec', () => {
  it('GetPublicKey of a symmetric or HMAC key → UnsupportedOperationException, no message', async () => {
    for (const spec of [{}, { KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' }]) {
      const key = await createKey(spec);
      await fails(
        'GetPublicKey',
        { KeyId: key.KeyId },
        { __type: 'UnsupportedOperationException' },
      );
    }
  });

  it('rotation of a key that cannot rotate: state first, then a bare error; disabling is a no-op', async () => {
    const hmac = await createKey({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' });
    await fails(
      'EnableKeyRotation',
      { KeyId: hmac.KeyId },
      { __type: 'UnsupportedOperationException' },
    );
    assert.deepEqual(await ok('DisableKeyRotation', { KeyId: hmac.KeyId }), {});
    await ok('DisableKey', { KeyId: hmac.KeyId });
    for (const op of ['EnableKeyRotation', 'DisableKeyRotation', 'RotateKeyOnDemand']) {
      await fails(
        op,
        { KeyId: hmac.KeyId },
        { __type: 'DisabledException', message: `${hmac.Arn} is disabled.` },
      );
    }
  });

  it('GenerateDataKey with an RSA encryption key: the state, then AWS sentence', async () => {
    const rsa = await createKey({ KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT' });
    for (const op of ['GenerateDataKey', 'GenerateDataKeyWithoutPlaintext']) {
      await fails(
        op,
        { KeyId: rsa.KeyId, KeySpec: 'AES_256' },
        {
          __type: 'InvalidKeyUsageException',
          message: 'You cannot generate a data key with an asymmetric CMK',
        },
      );
    }
    await ok('DisableKey', { KeyId: rsa.KeyId });
    await fails(
      'GenerateDataKey',
      { KeyId: rsa.KeyId, KeySpec: 'AES_256' },
      { __type: 'DisabledException', message: `${rsa.Arn} is disabled.` },
    );
  });

  it('the key usage is checked before the key state', async () => {
    const hmac = await createKey({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' });
    await ok('DisableKey', { KeyId: hmac.KeyId });
    await fails(
      'Sign',
      { KeyId: hmac.KeyId, Message: b64(Buffer.from('m')), SigningAlgorithm: 'ECDSA_SHA_256' },
      {
        __type: 'InvalidKeyUsageException',
        message: `${hmac.Arn} key usage is GENERATE_VERIFY_MAC which is not valid for Sign.`,
      },
    );
    const signing = await createKey({ KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' });
    await ok('ScheduleKeyDeletion', { KeyId: signing.KeyId, PendingWindowInDays: 7 });
    await fails(
      'Encrypt',
      {
        KeyId: signing.KeyId,
        Plaintext: b64(Buffer.from('m')),
        EncryptionAlgorithm: 'RSAES_OAEP_SHA_256',
      },
      {
        __type: 'InvalidKeyUsageException',
        message: `${signing.Arn} key usage is SIGN_VERIFY which is not valid for Encrypt.`,
      },
    );
  });

  it('Ed25519: a message type the algorithm does not take', async () => {
    const key = await createKey({ KeySpec: 'ECC_NIST_EDWARDS25519', KeyUsage: 'SIGN_VERIFY' });
    for (const [alg, type] of [
      ['ED25519_SHA_512', 'DIGEST'],
      ['ED25519_PH_SHA_512', 'RAW'],
    ] as const) {
      await fails(
        'Sign',
        {
          KeyId: key.KeyId,
          Message: b64(Buffer.alloc(64, 1)),
          MessageType: type,
          SigningAlgorithm: alg,
        },
        {
          __type: 'ValidationException',
          message: `Message type ${type} is incompatible with algorithm ${alg}.`,
        },
      );
    }
  });

  it('CreateKey SM2 outside China Regions', async () => {
    await fails(
      'CreateKey',
      { KeySpec: 'SM2', KeyUsage: 'SIGN_VERIFY' },
      {
        __type: 'UnsupportedOperationException',
        message: 'KeySpec SM2 is not supported in this Region',
      },
    );
  });

  it('an alias ARN of a Region the request is not for → "Invalid arn <region>"', async () => {
    await fails(
      'DescribeKey',
      { KeyId: `arn:aws:kms:${OTHER_REGION}:${TEST_ACCOUNT_ID}:alias/anything` },
      { __type: 'NotFoundException', message: `Invalid arn ${OTHER_REGION}` },
    );
  });

  it("enum values are listed in AWS's order", async () => {
    const key = await createKey();
    await fails(
      'Encrypt',
      { KeyId: key.KeyId, Plaintext: b64(Buffer.from('m')), EncryptionAlgorithm: 'FOO' },
      {
        __type: 'ValidationException',
        message:
          "1 validation error detected: Value 'FOO' at 'encryptionAlgorithm' failed to satisfy constraint: Member must satisfy enum value set: [RSAES_OAEP_SHA_1, RSAES_OAEP_SHA_256, SM2PKE, SYMMETRIC_DEFAULT]",
      },
    );
  });
});

describe('RetireGrant with GrantId', () => {
  it('accepts a key id as well as a key ARN; an alias is refused', async () => {
    const key = await createKey();
    const grant = async () =>
      (
        await ok('CreateGrant', {
          KeyId: key.KeyId,
          GranteePrincipal: `arn:aws:iam::${TEST_ACCOUNT_ID}:root`,
          Operations: ['Decrypt'],
        })
      ).GrantId as string;
    const byId = await grant();
    const byArn = await grant();
    await fails(
      'RetireGrant',
      { KeyId: 'alias/whatever', GrantId: byId },
      {
        __type: 'InvalidArnException',
        message: 'Key Aliases are not supported for this operation.',
      },
    );
    await ok('RetireGrant', { KeyId: key.KeyId, GrantId: byId });
    await ok('RetireGrant', { KeyId: key.Arn, GrantId: byArn });
    const left = await ok('ListGrants', { KeyId: key.KeyId });
    assert.deepEqual(left.Grants, []);
  });
});

// ---------------------------------------------------------------------------------------------

const AWS = '/usr/bin/aws';
let cliHome: string | undefined;

function awsCli(args: string[]): Promise<{ code: number; stderr: string }> {
  assert.ok(existsSync(AWS), `${AWS} is missing: CI installs Debian's awscli package`);
  cliHome ??= mkdtempSync(join(tmpdir(), 'keyhold-fidelity-cli-'));
  const env: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    HOME: cliHome,
    AWS_ACCESS_KEY_ID: TEST_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY: TEST_SECRET_ACCESS_KEY,
    AWS_DEFAULT_REGION: TEST_REGION,
    AWS_PAGER: '',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_MAX_ATTEMPTS: '1',
  };
  return new Promise((resolve) => {
    execFile(
      AWS,
      [...args, '--endpoint-url', server.url, '--output', 'json'],
      { env, timeout: 30_000 },
      (err, _stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : Number.NaN;
        resolve({ code, stderr: String(stderr) });
      },
    );
  });
}

after(() => {
  if (cliHome !== undefined) rmSync(cliHome, { recursive: true, force: true });
});
