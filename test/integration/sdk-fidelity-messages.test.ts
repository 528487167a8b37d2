/**
 * Fidelity, part 2: messages word for word (AWS's wording, recorded from real KMS answers in
 * public test fixtures), the order of the usage / state / spec checks, and RetireGrant's key
 * id forms. Whole bodies through raw SigV4-signed HTTP.
 */
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ARN_PREFIX, OTHER_REGION, b64, fidelityHarness } from '../helpers/fidelity.js';
import { TEST_ACCOUNT_ID, TEST_REGION } from '../helpers/server.js';

const h = fidelityHarness();
const { ok, fails, createKey, describe_ } = h;

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
    // The replica is Creating for a moment, as on AWS; wait until it is Enabled.
    for (let i = 0; ; i++) {
      const md = (await ok('DescribeKey', { KeyId: primary.KeyId }, OTHER_REGION))
        .KeyMetadata as Record<string, unknown>;
      if (md.KeyState === 'Enabled') break;
      assert.ok(i < 200, `the replica is still ${String(md.KeyState)}`);
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

  it('a missing sensitive member is not echoed, not even as null', async () => {
    const key = await createKey();
    await fails(
      'Encrypt',
      { KeyId: key.KeyId },
      {
        __type: 'ValidationException',
        message:
          "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must not be null",
      },
    );
    await fails(
      'Verify',
      { KeyId: key.KeyId, Message: b64(Buffer.from('m')), SigningAlgorithm: 'ECDSA_SHA_256' },
      {
        __type: 'ValidationException',
        message:
          "1 validation error detected: Value null at 'signature' failed to satisfy constraint: Member must not be null",
      },
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
    const source = await createKey();
    const blob = (await ok('Encrypt', { KeyId: source.KeyId, Plaintext: b64(Buffer.from('m')) }))
      .CiphertextBlob;
    await fails(
      'ReEncrypt',
      { CiphertextBlob: blob, DestinationKeyId: hmac.KeyId },
      {
        __type: 'InvalidKeyUsageException',
        message: `${hmac.Arn} key usage is GENERATE_VERIFY_MAC which is not valid for ReEncrypt.`,
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
    for (const op of ['RetireGrant', 'RevokeGrant']) {
      await fails(
        op,
        { KeyId: key.KeyId, GrantId: byId },
        { __type: 'NotFoundException', message: `Grant ID ${byId} not found` },
      );
    }
  });
});
