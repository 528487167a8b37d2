/**
 * Cryptographic operations through the real AWS SDK: Encrypt, Decrypt, ReEncrypt,
 * GenerateDataKey, GenerateDataKeyWithoutPlaintext, GenerateRandom.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DisableKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GenerateDataKeyWithoutPlaintextCommand,
  GenerateRandomCommand,
  ReEncryptCommand,
  type EncryptionAlgorithmSpec,
  type KeyMetadata,
} from '@aws-sdk/client-kms';
import {
  TEST_ACCOUNT_ID,
  TEST_REGION,
  expectAwsError,
  startTestServer,
  type TestServer,
} from '../helpers/server.js';

const ARN_PREFIX = `arn:aws:kms:${TEST_REGION}:${TEST_ACCOUNT_ID}`;

let server: TestServer;
let keyA: KeyMetadata;
let keyB: KeyMetadata;
const aliasA = `alias/crypto-a-${Date.now().toString(36)}`;

async function newKey(): Promise<KeyMetadata> {
  const out = await server.client.send(new CreateKeyCommand({}));
  assert.ok(out.KeyMetadata);
  return out.KeyMetadata;
}

async function encrypt(
  keyId: string,
  plaintext: Uint8Array,
  context?: Record<string, string>,
): Promise<Uint8Array> {
  const out = await server.client.send(
    new EncryptCommand({ KeyId: keyId, Plaintext: plaintext, EncryptionContext: context }),
  );
  assert.ok(out.CiphertextBlob);
  return out.CiphertextBlob;
}

function buf(x: Uint8Array | undefined): Buffer {
  assert.ok(x !== undefined, 'blob present');
  return Buffer.from(x);
}

before(async () => {
  server = await startTestServer();
  keyA = await newKey();
  keyB = await newKey();
  await server.client.send(new CreateAliasCommand({ AliasName: aliasA, TargetKeyId: keyA.KeyId }));
});

after(async () => {
  await server.stop();
});

describe('Encrypt / Decrypt', () => {
  it('round trip without encryption context; responses name the key ARN', async () => {
    const pt = Buffer.from('hello keyhold');
    const enc = await server.client.send(new EncryptCommand({ KeyId: keyA.KeyId, Plaintext: pt }));
    assert.equal(enc.KeyId, keyA.Arn);
    assert.equal(enc.EncryptionAlgorithm, 'SYMMETRIC_DEFAULT');
    assert.ok(enc.CiphertextBlob && enc.CiphertextBlob.length > pt.length);
    assert.ok(!buf(enc.CiphertextBlob).includes(pt), 'ciphertext does not contain the plaintext');
    const dec = await server.client.send(
      new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob }),
    );
    assert.deepEqual(buf(dec.Plaintext), pt);
    assert.equal(dec.KeyId, keyA.Arn, 'Decrypt without KeyId returns the key ARN');
    assert.equal(dec.EncryptionAlgorithm, 'SYMMETRIC_DEFAULT');
  });

  it('round trip with encryption context', async () => {
    const pt = Buffer.from('with context');
    const ctx = { purpose: 'test', tenant: 'acme' };
    const blob = await encrypt(keyA.KeyId as string, pt, ctx);
    const dec = await server.client.send(
      new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: ctx }),
    );
    assert.deepEqual(buf(dec.Plaintext), pt);
  });

  it('encryption context order is irrelevant', async () => {
    const pt = Buffer.from('order');
    const blob = await encrypt(keyA.KeyId as string, pt, { a: '1', b: '2', c: '3' });
    const dec = await server.client.send(
      new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: { c: '3', a: '1', b: '2' } }),
    );
    assert.deepEqual(buf(dec.Plaintext), pt);
  });

  it('Encrypt by key ARN, alias name, and alias ARN all use the same key', async () => {
    for (const id of [keyA.Arn, aliasA, `${ARN_PREFIX}:${aliasA}`]) {
      const enc = await server.client.send(
        new EncryptCommand({ KeyId: id, Plaintext: Buffer.from('x') }),
      );
      assert.equal(enc.KeyId, keyA.Arn, `KeyId for ${id}`);
    }
  });

  it('two encryptions of the same plaintext differ', async () => {
    const pt = Buffer.from('same');
    const a = await encrypt(keyA.KeyId as string, pt);
    const b = await encrypt(keyA.KeyId as string, pt);
    assert.notDeepEqual(buf(a), buf(b));
  });

  it('Decrypt with the right KeyId (id, ARN, alias) succeeds', async () => {
    const pt = Buffer.from('named');
    const blob = await encrypt(keyA.KeyId as string, pt);
    for (const id of [keyA.KeyId, keyA.Arn, aliasA]) {
      const dec = await server.client.send(new DecryptCommand({ CiphertextBlob: blob, KeyId: id }));
      assert.deepEqual(buf(dec.Plaintext), pt);
      assert.equal(dec.KeyId, keyA.Arn);
    }
  });

  it('Decrypt with the KeyId of another key → IncorrectKeyException', async () => {
    const blob = await encrypt(keyA.KeyId as string, Buffer.from('wrong key'));
    const err = await expectAwsError(
      server.client.send(new DecryptCommand({ CiphertextBlob: blob, KeyId: keyB.KeyId })),
      'IncorrectKeyException',
    );
    assert.equal(err.$metadata?.httpStatusCode, 400);
    await expectAwsError(
      server.client.send(new DecryptCommand({ CiphertextBlob: blob, KeyId: keyB.Arn })),
      'IncorrectKeyException',
    );
  });

  it('Decrypt with a KeyId that does not exist → NotFoundException', async () => {
    const blob = await encrypt(keyA.KeyId as string, Buffer.from('x'));
    await expectAwsError(
      server.client.send(
        new DecryptCommand({
          CiphertextBlob: blob,
          KeyId: '00000000-1111-2222-3333-444444444444',
        }),
      ),
      'NotFoundException',
    );
  });

  const ctxCases: [string, Record<string, string> | undefined][] = [
    ['changed value', { purpose: 'other', tenant: 'acme' }],
    ['changed key case', { Purpose: 'test', tenant: 'acme' }],
    ['missing pair', { purpose: 'test' }],
    ['extra pair', { purpose: 'test', tenant: 'acme', extra: 'x' }],
    ['missing entirely', undefined],
  ];
  for (const [name, ctx] of ctxCases) {
    it(`encryption context ${name} → InvalidCiphertextException`, async () => {
      const blob = await encrypt(keyA.KeyId as string, Buffer.from('ctx'), {
        purpose: 'test',
        tenant: 'acme',
      });
      await expectAwsError(
        server.client.send(new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: ctx })),
        'InvalidCiphertextException',
      );
    });
  }

  it('context given at Decrypt but not at Encrypt → InvalidCiphertextException', async () => {
    const blob = await encrypt(keyA.KeyId as string, Buffer.from('no ctx'));
    await expectAwsError(
      server.client.send(
        new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: { a: 'b' } }),
      ),
      'InvalidCiphertextException',
    );
  });

  it('a tampered ciphertext never decrypts (every byte position flipped)', async () => {
    const blob = buf(await encrypt(keyA.KeyId as string, Buffer.from('t')));
    // keyhold's blob format (docs/blob-format.md): bytes 1..17 hold the key id kind and key id.
    // Changing them makes the blob name another key, which AWS reports as "does not exist".
    const outcomes = new Map<string, number>();
    for (let i = 0; i < blob.length; i++) {
      const t = Buffer.from(blob);
      t[i] = (t[i] as number) ^ 0x80;
      let name = 'success';
      try {
        await server.client.send(new DecryptCommand({ CiphertextBlob: t }));
      } catch (err) {
        name = (err as Error).name;
      }
      outcomes.set(name, (outcomes.get(name) ?? 0) + 1);
      if (i >= 1 && i <= 17) {
        assert.ok(
          name === 'InvalidCiphertextException' || name === 'AccessDeniedException',
          `byte ${i}: got ${name}`,
        );
      } else {
        assert.equal(name, 'InvalidCiphertextException', `byte ${i}`);
      }
    }
    assert.equal(outcomes.get('success'), undefined);
  });

  it('tampered header / body / tag with the KeyId given → InvalidCiphertextException', async () => {
    const blob = buf(await encrypt(keyA.KeyId as string, Buffer.from('some longer plaintext')));
    for (const i of [0, 20, 60, 70, 80, blob.length - 20, blob.length - 1]) {
      const t = Buffer.from(blob);
      t[i] = (t[i] as number) ^ 0x01;
      await expectAwsError(
        server.client.send(new DecryptCommand({ CiphertextBlob: t, KeyId: keyA.KeyId })),
        'InvalidCiphertextException',
      );
    }
  });

  it('truncated ciphertexts → InvalidCiphertextException', async () => {
    const blob = buf(await encrypt(keyA.KeyId as string, Buffer.from('truncate me')));
    for (const len of [1, 10, 40, blob.length - 17, blob.length - 1]) {
      await expectAwsError(
        server.client.send(new DecryptCommand({ CiphertextBlob: blob.subarray(0, len) })),
        'InvalidCiphertextException',
      );
    }
  });

  it('random garbage → InvalidCiphertextException', async () => {
    await expectAwsError(
      server.client.send(new DecryptCommand({ CiphertextBlob: Buffer.alloc(200, 7) })),
      'InvalidCiphertextException',
    );
  });

  it('Plaintext of 4096 bytes is accepted and round-trips', async () => {
    const pt = Buffer.alloc(4096, 0x41);
    const blob = await encrypt(keyA.KeyId as string, pt);
    const dec = await server.client.send(new DecryptCommand({ CiphertextBlob: blob }));
    assert.deepEqual(buf(dec.Plaintext), pt);
  });

  it('Plaintext of 4097 bytes → ValidationException that does not echo the plaintext', async () => {
    const pt = Buffer.alloc(4097, 0x5a); // 'ZZZZ...'
    const err = await expectAwsError(
      server.client.send(new EncryptCommand({ KeyId: keyA.KeyId, Plaintext: pt })),
      'ValidationException',
    );
    assert.match(
      err.message,
      /at 'plaintext' failed to satisfy constraint: Member must have length less than or equal to 4096/,
    );
    assert.ok(!err.message.includes('ZZZZ'), 'raw plaintext not echoed');
    assert.ok(!err.message.includes(pt.toString('base64').slice(0, 16)), 'base64 not echoed');
  });

  it('empty Plaintext → ValidationException (PlaintextType min 1)', async () => {
    const err = await expectAwsError(
      server.client.send(new EncryptCommand({ KeyId: keyA.KeyId, Plaintext: new Uint8Array(0) })),
      'ValidationException',
    );
    assert.match(err.message, /at 'plaintext' failed to satisfy constraint/);
  });

  it('CiphertextBlob over 6144 bytes → ValidationException', async () => {
    const err = await expectAwsError(
      server.client.send(new DecryptCommand({ CiphertextBlob: Buffer.alloc(6145, 1) })),
      'ValidationException',
    );
    assert.match(
      err.message,
      /at 'ciphertextBlob' failed to satisfy constraint: Member must have length less than or equal to 6144/,
    );
  });

  it('Encrypt with an unknown key → NotFoundException', async () => {
    await expectAwsError(
      server.client.send(
        new EncryptCommand({ KeyId: 'alias/no-such-alias', Plaintext: Buffer.from('x') }),
      ),
      'NotFoundException',
    );
  });

  it('DryRun=true on Encrypt → DryRunOperationException', async () => {
    await expectAwsError(
      server.client.send(
        new EncryptCommand({ KeyId: keyA.KeyId, Plaintext: Buffer.from('x'), DryRun: true }),
      ),
      'DryRunOperationException',
    );
  });

  it('DryRun=true on Decrypt → DryRunOperationException', async () => {
    const blob = await encrypt(keyA.KeyId as string, Buffer.from('x'));
    await expectAwsError(
      server.client.send(new DecryptCommand({ CiphertextBlob: blob, DryRun: true })),
      'DryRunOperationException',
    );
  });

  it('EncryptionAlgorithm RSAES_OAEP_SHA_256 on a symmetric key → InvalidKeyUsageException', async () => {
    await expectAwsError(
      server.client.send(
        new EncryptCommand({
          KeyId: keyA.KeyId,
          Plaintext: Buffer.from('x'),
          EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' as EncryptionAlgorithmSpec,
        }),
      ),
      'InvalidKeyUsageException',
    );
  });

  it('Encrypt through an alias whose key is disabled → DisabledException', async () => {
    const key = await newKey();
    const alias = `alias/disabled-${Date.now().toString(36)}`;
    await server.client.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: key.KeyId }));
    await server.client.send(new DisableKeyCommand({ KeyId: key.KeyId }));
    const err = await expectAwsError(
      server.client.send(new EncryptCommand({ KeyId: alias, Plaintext: Buffer.from('x') })),
      'DisabledException',
    );
    assert.equal(err.message, `${key.Arn} is disabled.`);
  });
});

describe('GenerateDataKey / GenerateDataKeyWithoutPlaintext', () => {
  for (const [spec, len] of [
    ['AES_128', 16],
    ['AES_256', 32],
  ] as const) {
    it(`KeySpec ${spec} gives ${len} bytes whose CiphertextBlob decrypts to them`, async () => {
      const out = await server.client.send(
        new GenerateDataKeyCommand({ KeyId: aliasA, KeySpec: spec }),
      );
      assert.equal(out.KeyId, keyA.Arn, 'KeyId is the key ARN even when called with an alias');
      assert.equal(out.Plaintext?.length, len);
      const dec = await server.client.send(
        new DecryptCommand({ CiphertextBlob: out.CiphertextBlob }),
      );
      assert.deepEqual(buf(dec.Plaintext), buf(out.Plaintext));
      assert.equal(dec.KeyId, keyA.Arn);
    });
  }

  for (const n of [1, 1024]) {
    it(`NumberOfBytes ${n}`, async () => {
      const out = await server.client.send(
        new GenerateDataKeyCommand({ KeyId: keyA.KeyId, NumberOfBytes: n }),
      );
      assert.equal(out.Plaintext?.length, n);
      const dec = await server.client.send(
        new DecryptCommand({ CiphertextBlob: out.CiphertextBlob }),
      );
      assert.deepEqual(buf(dec.Plaintext), buf(out.Plaintext));
    });
  }

  it('two data keys differ', async () => {
    const a = await server.client.send(
      new GenerateDataKeyCommand({ KeyId: keyA.KeyId, KeySpec: 'AES_256' }),
    );
    const b = await server.client.send(
      new GenerateDataKeyCommand({ KeyId: keyA.KeyId, KeySpec: 'AES_256' }),
    );
    assert.notDeepEqual(buf(a.Plaintext), buf(b.Plaintext));
  });

  it('with encryption context: decrypts only with the same context', async () => {
    const ctx = { bucket: 'b1' };
    const out = await server.client.send(
      new GenerateDataKeyCommand({ KeyId: keyA.KeyId, KeySpec: 'AES_256', EncryptionContext: ctx }),
    );
    const dec = await server.client.send(
      new DecryptCommand({ CiphertextBlob: out.CiphertextBlob, EncryptionContext: ctx }),
    );
    assert.deepEqual(buf(dec.Plaintext), buf(out.Plaintext));
    await expectAwsError(
      server.client.send(new DecryptCommand({ CiphertextBlob: out.CiphertextBlob })),
      'InvalidCiphertextException',
    );
  });

  for (const cmd of ['GenerateDataKey', 'GenerateDataKeyWithoutPlaintext'] as const) {
    const make = (input: { KeySpec?: 'AES_128' | 'AES_256'; NumberOfBytes?: number }) =>
      cmd === 'GenerateDataKey'
        ? server.client.send(new GenerateDataKeyCommand({ KeyId: keyA.KeyId, ...input }))
        : server.client.send(
            new GenerateDataKeyWithoutPlaintextCommand({ KeyId: keyA.KeyId, ...input }),
          );

    it(`${cmd}: both KeySpec and NumberOfBytes → ValidationException`, async () => {
      await expectAwsError(make({ KeySpec: 'AES_256', NumberOfBytes: 32 }), 'ValidationException');
    });

    it(`${cmd}: neither KeySpec nor NumberOfBytes → ValidationException`, async () => {
      await expectAwsError(make({}), 'ValidationException');
    });

    for (const n of [0, 1025]) {
      it(`${cmd}: NumberOfBytes ${n} → ValidationException`, async () => {
        const err = await expectAwsError(make({ NumberOfBytes: n }), 'ValidationException');
        assert.match(err.message, /at 'numberOfBytes' failed to satisfy constraint/);
      });
    }
  }

  it('WithoutPlaintext returns no Plaintext but its blob decrypts', async () => {
    const out = await server.client.send(
      new GenerateDataKeyWithoutPlaintextCommand({
        KeyId: keyA.Arn,
        KeySpec: 'AES_128',
        EncryptionContext: { k: 'v' },
      }),
    );
    assert.equal((out as { Plaintext?: unknown }).Plaintext, undefined);
    assert.equal(out.KeyId, keyA.Arn);
    const dec = await server.client.send(
      new DecryptCommand({ CiphertextBlob: out.CiphertextBlob, EncryptionContext: { k: 'v' } }),
    );
    assert.equal(dec.Plaintext?.length, 16);
  });

  it('GenerateDataKey with an unknown key → NotFoundException', async () => {
    await expectAwsError(
      server.client.send(
        new GenerateDataKeyCommand({
          KeyId: '00000000-1111-2222-3333-444444444444',
          KeySpec: 'AES_256',
        }),
      ),
      'NotFoundException',
    );
  });

  it('DryRun=true on GenerateDataKey → DryRunOperationException', async () => {
    await expectAwsError(
      server.client.send(
        new GenerateDataKeyCommand({ KeyId: keyA.KeyId, KeySpec: 'AES_256', DryRun: true }),
      ),
      'DryRunOperationException',
    );
  });
});

describe('ReEncrypt', () => {
  it('moves a ciphertext to another key, changing the context', async () => {
    const pt = Buffer.from('re-encrypt me');
    const blob = await encrypt(keyA.KeyId as string, pt, { stage: 'one' });
    const out = await server.client.send(
      new ReEncryptCommand({
        CiphertextBlob: blob,
        SourceEncryptionContext: { stage: 'one' },
        DestinationKeyId: keyB.KeyId,
        DestinationEncryptionContext: { stage: 'two' },
      }),
    );
    assert.equal(out.SourceKeyId, keyA.Arn);
    assert.equal(out.KeyId, keyB.Arn);
    assert.equal(out.SourceEncryptionAlgorithm, 'SYMMETRIC_DEFAULT');
    assert.equal(out.DestinationEncryptionAlgorithm, 'SYMMETRIC_DEFAULT');
    assert.ok(!buf(out.CiphertextBlob).includes(pt));
    const dec = await server.client.send(
      new DecryptCommand({
        CiphertextBlob: out.CiphertextBlob,
        EncryptionContext: { stage: 'two' },
      }),
    );
    assert.deepEqual(buf(dec.Plaintext), pt);
    assert.equal(dec.KeyId, keyB.Arn);
    // the new blob does not decrypt under the old context nor with the source KeyId
    await expectAwsError(
      server.client.send(
        new DecryptCommand({
          CiphertextBlob: out.CiphertextBlob,
          EncryptionContext: { stage: 'one' },
        }),
      ),
      'InvalidCiphertextException',
    );
    await expectAwsError(
      server.client.send(
        new DecryptCommand({
          CiphertextBlob: out.CiphertextBlob,
          EncryptionContext: { stage: 'two' },
          KeyId: keyA.KeyId,
        }),
      ),
      'IncorrectKeyException',
    );
  });

  it('with a matching SourceKeyId and destination alias', async () => {
    const blob = await encrypt(keyB.KeyId as string, Buffer.from('x'));
    const out = await server.client.send(
      new ReEncryptCommand({
        CiphertextBlob: blob,
        SourceKeyId: keyB.Arn,
        DestinationKeyId: aliasA,
      }),
    );
    assert.equal(out.KeyId, keyA.Arn);
    assert.equal(out.SourceKeyId, keyB.Arn);
  });

  it('SourceKeyId mismatch → IncorrectKeyException', async () => {
    const blob = await encrypt(keyA.KeyId as string, Buffer.from('x'));
    await expectAwsError(
      server.client.send(
        new ReEncryptCommand({
          CiphertextBlob: blob,
          SourceKeyId: keyB.KeyId,
          DestinationKeyId: keyB.KeyId,
        }),
      ),
      'IncorrectKeyException',
    );
  });

  it('wrong source context → InvalidCiphertextException', async () => {
    const blob = await encrypt(keyA.KeyId as string, Buffer.from('x'), { a: '1' });
    await expectAwsError(
      server.client.send(
        new ReEncryptCommand({
          CiphertextBlob: blob,
          SourceEncryptionContext: { a: '2' },
          DestinationKeyId: keyB.KeyId,
        }),
      ),
      'InvalidCiphertextException',
    );
  });

  it('unknown destination key → NotFoundException', async () => {
    const blob = await encrypt(keyA.KeyId as string, Buffer.from('x'));
    await expectAwsError(
      server.client.send(
        new ReEncryptCommand({ CiphertextBlob: blob, DestinationKeyId: 'alias/nowhere' }),
      ),
      'NotFoundException',
    );
  });

  it('DryRun=true on ReEncrypt → DryRunOperationException', async () => {
    const blob = await encrypt(keyA.KeyId as string, Buffer.from('x'));
    await expectAwsError(
      server.client.send(
        new ReEncryptCommand({ CiphertextBlob: blob, DestinationKeyId: keyB.KeyId, DryRun: true }),
      ),
      'DryRunOperationException',
    );
  });
});

describe('GenerateRandom', () => {
  for (const n of [1, 1024]) {
    it(`returns ${n} bytes`, async () => {
      const out = await server.client.send(new GenerateRandomCommand({ NumberOfBytes: n }));
      assert.equal(out.Plaintext?.length, n);
    });
  }

  it('two results differ', async () => {
    const a = await server.client.send(new GenerateRandomCommand({ NumberOfBytes: 32 }));
    const b = await server.client.send(new GenerateRandomCommand({ NumberOfBytes: 32 }));
    assert.notDeepEqual(buf(a.Plaintext), buf(b.Plaintext));
  });

  for (const n of [0, 1025]) {
    it(`NumberOfBytes ${n} → ValidationException`, async () => {
      const err = await expectAwsError(
        server.client.send(new GenerateRandomCommand({ NumberOfBytes: n })),
        'ValidationException',
      );
      const bound =
        n === 0
          ? 'Member must have value greater than or equal to 1'
          : 'Member must have value less than or equal to 1024';
      assert.equal(
        err.message,
        `1 validation error detected: Value '${n}' at 'numberOfBytes' failed to satisfy constraint: ${bound}`,
      );
    });
  }
});
