/**
 * Key management through the real AWS SDK: CreateKey, DescribeKey, ListKeys,
 * UpdateKeyDescription, EnableKey, DisableKey — including every error path AWS documents.
 */
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  ListKeysCommand,
  ListResourceTagsCommand,
  UpdateKeyDescriptionCommand,
  type KeyMetadata,
  type KeySpec,
  type KeyUsageType,
} from '@aws-sdk/client-kms';
import {
  TEST_ACCOUNT_ID,
  TEST_REGION,
  expectAwsError,
  startTestServer,
  type TestServer,
} from '../helpers/server.js';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ARN_PREFIX = `arn:aws:kms:${TEST_REGION}:${TEST_ACCOUNT_ID}`;

let server: TestServer;

before(async () => {
  server = await startTestServer();
});

after(async () => {
  await server.stop();
});

async function newKey(description?: string): Promise<KeyMetadata> {
  const out = await server.client.send(
    new CreateKeyCommand(description === undefined ? {} : { Description: description }),
  );
  assert.ok(out.KeyMetadata);
  return out.KeyMetadata;
}

function uniq(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomUUID().slice(0, 6)}`;
}

describe('CreateKey', () => {
  it('returns the full default KeyMetadata', async () => {
    const before = Date.now();
    const out = await server.client.send(new CreateKeyCommand({}));
    const after = Date.now();
    const md = out.KeyMetadata;
    assert.ok(md);
    assert.match(md.KeyId ?? '', UUID_RE);
    assert.equal(md.AWSAccountId, TEST_ACCOUNT_ID);
    assert.equal(md.Arn, `${ARN_PREFIX}:key/${md.KeyId}`);
    assert.equal(md.KeySpec, 'SYMMETRIC_DEFAULT');
    assert.equal(md.CustomerMasterKeySpec, 'SYMMETRIC_DEFAULT');
    assert.equal(md.KeyUsage, 'ENCRYPT_DECRYPT');
    assert.equal(md.KeyState, 'Enabled');
    assert.equal(md.Enabled, true);
    assert.equal(md.Origin, 'AWS_KMS');
    assert.equal(md.KeyManager, 'CUSTOMER');
    assert.deepEqual(md.EncryptionAlgorithms, ['SYMMETRIC_DEFAULT']);
    assert.equal(md.MultiRegion, false);
    assert.equal(md.Description, '');
    assert.equal(md.DeletionDate, undefined);
    assert.equal(md.PendingDeletionWindowInDays, undefined);
    assert.equal(md.SigningAlgorithms, undefined);
    assert.ok(md.CreationDate instanceof Date, 'CreationDate is a Date');
    // epoch seconds on the wire; allow a second of rounding either way
    assert.ok(md.CreationDate.getTime() >= before - 1000, 'CreationDate not before the call');
    assert.ok(md.CreationDate.getTime() <= after + 1000, 'CreationDate not after the call');
  });

  it('explicit SYMMETRIC_DEFAULT / ENCRYPT_DECRYPT is accepted', async () => {
    const out = await server.client.send(
      new CreateKeyCommand({ KeySpec: 'SYMMETRIC_DEFAULT', KeyUsage: 'ENCRYPT_DECRYPT' }),
    );
    assert.equal(out.KeyMetadata?.KeySpec, 'SYMMETRIC_DEFAULT');
    assert.equal(out.KeyMetadata?.KeyUsage, 'ENCRYPT_DECRYPT');
  });

  it('keeps Description and Tags', async () => {
    const out = await server.client.send(
      new CreateKeyCommand({
        Description: 'payroll key',
        Tags: [
          { TagKey: 'team', TagValue: 'payroll' },
          { TagKey: 'env', TagValue: 'prod' },
        ],
      }),
    );
    assert.equal(out.KeyMetadata?.Description, 'payroll key');
    const d = await server.client.send(new DescribeKeyCommand({ KeyId: out.KeyMetadata?.KeyId }));
    assert.equal(d.KeyMetadata?.Description, 'payroll key');
    const tags = await server.client.send(
      new ListResourceTagsCommand({ KeyId: out.KeyMetadata?.KeyId }),
    );
    const sorted = [...(tags.Tags ?? [])].sort((a, b) =>
      (a.TagKey ?? '').localeCompare(b.TagKey ?? ''),
    );
    assert.deepEqual(sorted, [
      { TagKey: 'env', TagValue: 'prod' },
      { TagKey: 'team', TagValue: 'payroll' },
    ]);
    assert.equal(tags.Truncated, false);
  });

  it('duplicate tag keys → TagException "Duplicate tag keys", no key is created', async () => {
    const keysBefore = await server.client.send(new ListKeysCommand({ Limit: 1000 }));
    const err = await expectAwsError(
      server.client.send(
        new CreateKeyCommand({
          Tags: [
            { TagKey: 'k', TagValue: 'first' },
            { TagKey: 'k', TagValue: 'second' },
          ],
        }),
      ),
      'TagException',
    );
    assert.equal(err.message, 'Duplicate tag keys');
    const keysAfter = await server.client.send(new ListKeysCommand({ Limit: 1000 }));
    assert.equal(keysAfter.Keys?.length, keysBefore.Keys?.length);
  });

  it('accepts a valid custom key policy', async () => {
    const policy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'root',
          Effect: 'Allow',
          Principal: { AWS: `arn:aws:iam::${TEST_ACCOUNT_ID}:root` },
          Action: 'kms:*',
          Resource: '*',
        },
      ],
    });
    const out = await server.client.send(new CreateKeyCommand({ Policy: policy }));
    assert.equal(out.KeyMetadata?.KeyState, 'Enabled');
  });

  it('unsupported KeySpec (SM2: AWS China Regions only) → UnsupportedOperationException', async () => {
    const err = await expectAwsError(
      server.client.send(
        new CreateKeyCommand({ KeySpec: 'SM2' as KeySpec, KeyUsage: 'SIGN_VERIFY' }),
      ),
      'UnsupportedOperationException',
    );
    assert.match(err.message, /SM2/);
    assert.equal(err.$metadata?.httpStatusCode, 400);
  });

  it('KeyUsage SIGN_VERIFY with SYMMETRIC_DEFAULT → ValidationException', async () => {
    const err = await expectAwsError(
      server.client.send(
        new CreateKeyCommand({
          KeySpec: 'SYMMETRIC_DEFAULT',
          KeyUsage: 'SIGN_VERIFY' as KeyUsageType,
        }),
      ),
      'ValidationException',
    );
    assert.equal(err.$metadata?.httpStatusCode, 400);
  });

  it('invalid KeySpec enum value → ValidationException', async () => {
    const err = await expectAwsError(
      server.client.send(new CreateKeyCommand({ KeySpec: 'AES_999' as KeySpec })),
      'ValidationException',
    );
    assert.match(
      err.message,
      /at 'keySpec' failed to satisfy constraint: Member must satisfy enum/,
    );
  });

  it('both KeySpec and CustomerMasterKeySpec → ValidationException', async () => {
    await expectAwsError(
      server.client.send(
        new CreateKeyCommand({
          KeySpec: 'SYMMETRIC_DEFAULT',
          CustomerMasterKeySpec: 'SYMMETRIC_DEFAULT',
        }),
      ),
      'ValidationException',
    );
  });

  it('Description over 8192 characters → ValidationException', async () => {
    const err = await expectAwsError(
      server.client.send(new CreateKeyCommand({ Description: 'd'.repeat(8193) })),
      'ValidationException',
    );
    assert.match(
      err.message,
      /at 'description' failed to satisfy constraint: Member must have length less than or equal to 8192/,
    );
  });

  it('invalid policy JSON → MalformedPolicyDocumentException', async () => {
    await expectAwsError(
      server.client.send(new CreateKeyCommand({ Policy: '{"Version": "2012-10-17", ' })),
      'MalformedPolicyDocumentException',
    );
  });

  it('policy over 32 KB → LimitExceededException', async () => {
    const policy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'x'.repeat(33 * 1024),
          Effect: 'Allow',
          Principal: { AWS: `arn:aws:iam::${TEST_ACCOUNT_ID}:root` },
          Action: 'kms:*',
          Resource: '*',
        },
      ],
    });
    assert.ok(policy.length > 32 * 1024 && policy.length < 131072);
    await expectAwsError(
      server.client.send(new CreateKeyCommand({ Policy: policy })),
      'LimitExceededException',
    );
  });

  it('tag key beginning with aws: → TagException, and no key is created', async () => {
    const before = await server.client.send(new ListKeysCommand({}));
    await expectAwsError(
      server.client.send(new CreateKeyCommand({ Tags: [{ TagKey: 'aws:x', TagValue: 'v' }] })),
      'TagException',
    );
    const afterList = await server.client.send(new ListKeysCommand({}));
    assert.equal(afterList.Keys?.length, before.Keys?.length);
  });
});

describe('DescribeKey', () => {
  let md: KeyMetadata;
  const alias = `alias/${uniq('describe')}`;

  before(async () => {
    md = await newKey('describe me');
    await server.client.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: md.KeyId }));
  });

  for (const form of ['key id', 'key ARN', 'alias name', 'alias ARN'] as const) {
    it(`finds the key by ${form}`, async () => {
      const keyId =
        form === 'key id'
          ? md.KeyId
          : form === 'key ARN'
            ? md.Arn
            : form === 'alias name'
              ? alias
              : `${ARN_PREFIX}:${alias}`;
      const out = await server.client.send(new DescribeKeyCommand({ KeyId: keyId }));
      assert.equal(out.KeyMetadata?.KeyId, md.KeyId);
      assert.equal(out.KeyMetadata?.Arn, md.Arn);
      assert.equal(out.KeyMetadata?.Description, 'describe me');
      assert.equal(out.KeyMetadata?.CreationDate?.getTime(), md.CreationDate?.getTime());
    });
  }

  it('unknown key id → NotFoundException "Key \'<arn>\' does not exist" (HTTP 400)', async () => {
    const id = '00000000-1111-2222-3333-444444444444';
    const err = await expectAwsError(
      server.client.send(new DescribeKeyCommand({ KeyId: id })),
      'NotFoundException',
    );
    assert.equal(err.message, `Key '${ARN_PREFIX}:key/${id}' does not exist`);
    assert.equal(err.$metadata?.httpStatusCode, 400);
  });

  it('unknown key ARN → NotFoundException naming that ARN', async () => {
    const arn = `${ARN_PREFIX}:key/00000000-1111-2222-3333-555555555555`;
    const err = await expectAwsError(
      server.client.send(new DescribeKeyCommand({ KeyId: arn })),
      'NotFoundException',
    );
    assert.equal(err.message, `Key '${arn}' does not exist`);
  });

  it('unknown alias name → NotFoundException "Alias <alias ARN> is not found."', async () => {
    const err = await expectAwsError(
      server.client.send(new DescribeKeyCommand({ KeyId: 'alias/does-not-exist' })),
      'NotFoundException',
    );
    assert.equal(err.message, `Alias ${ARN_PREFIX}:alias/does-not-exist is not found.`);
  });

  it('unknown alias ARN → NotFoundException "Alias <alias ARN> is not found."', async () => {
    const arn = `${ARN_PREFIX}:alias/nope-nope`;
    const err = await expectAwsError(
      server.client.send(new DescribeKeyCommand({ KeyId: arn })),
      'NotFoundException',
    );
    assert.equal(err.message, `Alias ${arn} is not found.`);
  });

  for (const bad of [
    'arn:aws:kms:us-east-1:1234:key/abc',
    'arn:aws:kms:us-east-1:111122223333:thing/abc',
    'arn:aws:kms',
  ]) {
    it(`malformed ARN ${bad} → InvalidArnException`, async () => {
      await expectAwsError(
        server.client.send(new DescribeKeyCommand({ KeyId: bad })),
        'InvalidArnException',
      );
    });
  }

  it('the key ARN of another account → NotFoundException (even if the key id exists here)', async () => {
    const arn = `arn:aws:kms:${TEST_REGION}:999988887777:key/${md.KeyId}`;
    const err = await expectAwsError(
      server.client.send(new DescribeKeyCommand({ KeyId: arn })),
      'NotFoundException',
    );
    assert.equal(err.message, `Key '${arn}' does not exist`);
  });

  it('KeyId longer than 2048 characters → ValidationException', async () => {
    const err = await expectAwsError(
      server.client.send(new DescribeKeyCommand({ KeyId: 'x'.repeat(2049) })),
      'ValidationException',
    );
    assert.match(
      err.message,
      /at 'keyId' failed to satisfy constraint: Member must have length less than or equal to 2048/,
    );
  });
});

describe('UpdateKeyDescription / EnableKey / DisableKey', () => {
  it('UpdateKeyDescription changes the description', async () => {
    const md = await newKey('old');
    const out = await server.client.send(
      new UpdateKeyDescriptionCommand({ KeyId: md.KeyId, Description: 'new text' }),
    );
    assert.equal(out.$metadata.httpStatusCode, 200);
    const d = await server.client.send(new DescribeKeyCommand({ KeyId: md.KeyId }));
    assert.equal(d.KeyMetadata?.Description, 'new text');
  });

  it('UpdateKeyDescription accepts the key ARN', async () => {
    const md = await newKey('old');
    await server.client.send(new UpdateKeyDescriptionCommand({ KeyId: md.Arn, Description: '' }));
    const d = await server.client.send(new DescribeKeyCommand({ KeyId: md.KeyId }));
    assert.equal(d.KeyMetadata?.Description, '');
  });

  it('UpdateKeyDescription of an unknown key → NotFoundException', async () => {
    await expectAwsError(
      server.client.send(
        new UpdateKeyDescriptionCommand({
          KeyId: '00000000-1111-2222-3333-666666666666',
          Description: 'x',
        }),
      ),
      'NotFoundException',
    );
  });

  it('DisableKey then EnableKey toggle KeyState and Enabled', async () => {
    const md = await newKey();
    await server.client.send(new DisableKeyCommand({ KeyId: md.KeyId }));
    let d = await server.client.send(new DescribeKeyCommand({ KeyId: md.KeyId }));
    assert.equal(d.KeyMetadata?.KeyState, 'Disabled');
    assert.equal(d.KeyMetadata?.Enabled, false);
    // idempotent
    await server.client.send(new DisableKeyCommand({ KeyId: md.Arn }));
    await server.client.send(new EnableKeyCommand({ KeyId: md.Arn }));
    d = await server.client.send(new DescribeKeyCommand({ KeyId: md.KeyId }));
    assert.equal(d.KeyMetadata?.KeyState, 'Enabled');
    assert.equal(d.KeyMetadata?.Enabled, true);
  });

  it('EnableKey / DisableKey of an unknown key → NotFoundException', async () => {
    const id = '00000000-1111-2222-3333-777777777777';
    await expectAwsError(
      server.client.send(new EnableKeyCommand({ KeyId: id })),
      'NotFoundException',
    );
    await expectAwsError(
      server.client.send(new DisableKeyCommand({ KeyId: id })),
      'NotFoundException',
    );
  });
});

describe('ListKeys', () => {
  it('Limit 2 pages through every key exactly once; NextMarker only when Truncated', async () => {
    const created: string[] = [];
    for (let i = 0; i < 5; i++) created.push((await newKey(`page ${i}`)).KeyId as string);
    const all = await server.client.send(new ListKeysCommand({}));
    assert.equal(all.Truncated, false);
    assert.equal(all.NextMarker, undefined);
    const total = all.Keys?.length ?? 0;
    assert.ok(total >= 5);

    const seen: string[] = [];
    let marker: string | undefined;
    let pages = 0;
    for (;;) {
      const out = await server.client.send(new ListKeysCommand({ Limit: 2, Marker: marker }));
      pages++;
      assert.ok(pages <= total, 'pagination terminates');
      for (const k of out.Keys ?? []) {
        assert.match(k.KeyId ?? '', UUID_RE);
        assert.equal(k.KeyArn, `${ARN_PREFIX}:key/${k.KeyId}`);
        seen.push(k.KeyId as string);
      }
      assert.equal(typeof out.Truncated, 'boolean', 'Truncated always present');
      if (out.Truncated === true) {
        assert.equal(out.Keys?.length, 2, 'a truncated page is full');
        assert.equal(typeof out.NextMarker, 'string');
        assert.ok((out.NextMarker ?? '').length > 0);
        marker = out.NextMarker;
      } else {
        assert.equal(out.NextMarker, undefined, 'no NextMarker on the last page');
        break;
      }
    }
    assert.equal(pages, Math.ceil(total / 2));
    assert.equal(new Set(seen).size, seen.length, 'no key seen twice');
    assert.equal(seen.length, total);
    for (const id of created) assert.ok(seen.includes(id), `created key ${id} listed`);
  });

  it('exact multiple of Limit: last full page is not Truncated', async () => {
    const all = await server.client.send(new ListKeysCommand({}));
    const total = all.Keys?.length ?? 0;
    const out = await server.client.send(new ListKeysCommand({ Limit: total }));
    assert.equal(out.Keys?.length, total);
    assert.equal(out.Truncated, false);
    assert.equal(out.NextMarker, undefined);
  });

  it('invalid Marker → InvalidMarkerException', async () => {
    await expectAwsError(
      server.client.send(new ListKeysCommand({ Marker: 'not-a-real-marker' })),
      'InvalidMarkerException',
    );
  });

  it('Limit 0 → ValidationException in AWS Coral form', async () => {
    const err = await expectAwsError(
      server.client.send(new ListKeysCommand({ Limit: 0 })),
      'ValidationException',
    );
    assert.equal(
      err.message,
      "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1",
    );
    assert.equal(err.$metadata?.httpStatusCode, 400);
  });

  it('Limit 1001 → ValidationException in AWS Coral form', async () => {
    const err = await expectAwsError(
      server.client.send(new ListKeysCommand({ Limit: 1001 })),
      'ValidationException',
    );
    assert.equal(
      err.message,
      "1 validation error detected: Value '1001' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 1000",
    );
  });
});
