/**
 * Aliases (CreateAlias, UpdateAlias, DeleteAlias, ListAliases) and tags (TagResource,
 * UntagResource, ListResourceTags) through the real AWS SDK.
 */
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DeleteAliasCommand,
  DescribeKeyCommand,
  GenerateDataKeyCommand,
  ListAliasesCommand,
  ListResourceTagsCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateAliasCommand,
  type AliasListEntry,
  type KeyMetadata,
  type Tag,
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
let counter = 0;

before(async () => {
  server = await startTestServer();
});

after(async () => {
  await server.stop();
});

async function newKey(): Promise<KeyMetadata> {
  const out = await server.client.send(new CreateKeyCommand({}));
  assert.ok(out.KeyMetadata);
  return out.KeyMetadata;
}

function aliasName(prefix = 'test'): string {
  counter++;
  return `alias/${prefix}-${counter}-${randomUUID().slice(0, 6)}`;
}

function sortTags(tags: Tag[] | undefined): Tag[] {
  return [...(tags ?? [])].sort((a, b) => (a.TagKey ?? '').localeCompare(b.TagKey ?? ''));
}

async function allAliases(keyId?: string): Promise<AliasListEntry[]> {
  const out: AliasListEntry[] = [];
  let marker: string | undefined;
  for (let i = 0; i < 100; i++) {
    const page = await server.client.send(new ListAliasesCommand({ KeyId: keyId, Marker: marker }));
    out.push(...(page.Aliases ?? []));
    if (page.Truncated !== true) return out;
    marker = page.NextMarker;
  }
  throw new Error('ListAliases did not terminate');
}

describe('CreateAlias', () => {
  it('creates an alias that DescribeKey resolves and ListAliases lists', async () => {
    const key = await newKey();
    const name = aliasName();
    const before = Date.now();
    const out = await server.client.send(
      new CreateAliasCommand({ AliasName: name, TargetKeyId: key.KeyId }),
    );
    assert.equal(out.$metadata.httpStatusCode, 200);
    const d = await server.client.send(new DescribeKeyCommand({ KeyId: name }));
    assert.equal(d.KeyMetadata?.KeyId, key.KeyId);
    const listed = (await allAliases()).find((a) => a.AliasName === name);
    assert.ok(listed, 'alias listed');
    assert.equal(listed.AliasArn, `${ARN_PREFIX}:${name}`);
    assert.equal(listed.TargetKeyId, key.KeyId, 'TargetKeyId is the key id');
    assert.ok(listed.CreationDate instanceof Date);
    assert.ok(Math.abs(listed.CreationDate.getTime() - before) < 60_000);
  });

  it('accepts the key ARN as TargetKeyId', async () => {
    const key = await newKey();
    const name = aliasName();
    await server.client.send(new CreateAliasCommand({ AliasName: name, TargetKeyId: key.Arn }));
    const d = await server.client.send(new DescribeKeyCommand({ KeyId: name }));
    assert.equal(d.KeyMetadata?.Arn, key.Arn);
  });

  it('duplicate name → AlreadyExistsException and the alias keeps its target', async () => {
    const k1 = await newKey();
    const k2 = await newKey();
    const name = aliasName();
    await server.client.send(new CreateAliasCommand({ AliasName: name, TargetKeyId: k1.KeyId }));
    const err = await expectAwsError(
      server.client.send(new CreateAliasCommand({ AliasName: name, TargetKeyId: k2.KeyId })),
      'AlreadyExistsException',
    );
    assert.ok(err.message.includes(name), err.message);
    const d = await server.client.send(new DescribeKeyCommand({ KeyId: name }));
    assert.equal(d.KeyMetadata?.KeyId, k1.KeyId);
  });

  it('alias/aws/... is reserved for AWS managed keys', async () => {
    const key = await newKey();
    const name = 'alias/aws/mything';
    let code = 'success';
    try {
      await server.client.send(new CreateAliasCommand({ AliasName: name, TargetKeyId: key.KeyId }));
    } catch (err) {
      code = (err as Error).name;
    }
    // AWS documents the prefix as reserved; the exception name is not documented
    // (InvalidAliasNameException is the modeled error; emulators also use NotAuthorizedException).
    assert.ok(
      code === 'InvalidAliasNameException' || code === 'NotAuthorizedException',
      `got ${code}`,
    );
    await expectAwsError(
      server.client.send(new DescribeKeyCommand({ KeyId: name })),
      'NotFoundException',
    );
  });

  it('name without the alias/ prefix → ValidationException', async () => {
    const key = await newKey();
    const err = await expectAwsError(
      server.client.send(new CreateAliasCommand({ AliasName: 'noprefix', TargetKeyId: key.KeyId })),
      'ValidationException',
    );
    assert.equal(
      err.message,
      'Alias must start with the prefix "alias/". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html',
    );
  });

  for (const bad of ['alias/has space', 'alias/bang!', 'alias/ünicode']) {
    it(`bad characters (${bad}) → ValidationException`, async () => {
      const key = await newKey();
      const err = await expectAwsError(
        server.client.send(new CreateAliasCommand({ AliasName: bad, TargetKeyId: key.KeyId })),
        'ValidationException',
      );
      assert.match(err.message, /at 'aliasName' failed to satisfy constraint/);
      assert.ok(err.message.includes('^[a-zA-Z0-9:/_-]+$'), err.message);
    });
  }

  it('alias name longer than 256 characters → ValidationException', async () => {
    const key = await newKey();
    await expectAwsError(
      server.client.send(
        new CreateAliasCommand({ AliasName: `alias/${'a'.repeat(251)}`, TargetKeyId: key.KeyId }),
      ),
      'ValidationException',
    );
  });

  it('unknown target key → NotFoundException', async () => {
    const id = '00000000-1111-2222-3333-444444444444';
    const err = await expectAwsError(
      server.client.send(new CreateAliasCommand({ AliasName: aliasName(), TargetKeyId: id })),
      'NotFoundException',
    );
    assert.equal(err.message, `Key '${ARN_PREFIX}:key/${id}' does not exist`);
  });

  it('10 parallel CreateAlias of one name → exactly one success, 9 AlreadyExistsException', async () => {
    const keys = await Promise.all(Array.from({ length: 10 }, () => newKey()));
    const name = aliasName('race');
    const results = await Promise.allSettled(
      keys.map((k) =>
        server.client.send(new CreateAliasCommand({ AliasName: name, TargetKeyId: k.KeyId })),
      ),
    );
    const ok = results.filter((r) => r.status === 'fulfilled');
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    assert.equal(ok.length, 1);
    assert.equal(failed.length, 9);
    for (const f of failed) assert.equal((f.reason as Error).name, 'AlreadyExistsException');
    const winner = keys[results.findIndex((r) => r.status === 'fulfilled')];
    const d = await server.client.send(new DescribeKeyCommand({ KeyId: name }));
    assert.equal(d.KeyMetadata?.KeyId, winner?.KeyId);
    const entries = (await allAliases()).filter((a) => a.AliasName === name);
    assert.equal(entries.length, 1);
  });
});

describe('UpdateAlias / DeleteAlias', () => {
  it('UpdateAlias retargets; GenerateDataKey through the alias uses the new key', async () => {
    const k1 = await newKey();
    const k2 = await newKey();
    const name = aliasName();
    await server.client.send(new CreateAliasCommand({ AliasName: name, TargetKeyId: k1.KeyId }));
    const g1 = await server.client.send(
      new GenerateDataKeyCommand({ KeyId: name, KeySpec: 'AES_256' }),
    );
    assert.equal(g1.KeyId, k1.Arn);
    await server.client.send(new UpdateAliasCommand({ AliasName: name, TargetKeyId: k2.Arn }));
    const g2 = await server.client.send(
      new GenerateDataKeyCommand({ KeyId: name, KeySpec: 'AES_256' }),
    );
    assert.equal(g2.KeyId, k2.Arn);
    const dec = await server.client.send(
      new DecryptCommand({ CiphertextBlob: g2.CiphertextBlob, KeyId: k2.KeyId }),
    );
    assert.deepEqual(Buffer.from(dec.Plaintext ?? []), Buffer.from(g2.Plaintext ?? []));
    const entry = (await allAliases(k2.KeyId)).find((a) => a.AliasName === name);
    assert.equal(entry?.TargetKeyId, k2.KeyId);
    assert.ok(entry?.LastUpdatedDate instanceof Date);
    assert.equal(
      (await allAliases(k1.KeyId)).find((a) => a.AliasName === name),
      undefined,
    );
  });

  it('UpdateAlias of an unknown alias → NotFoundException', async () => {
    const key = await newKey();
    const name = aliasName('ghost');
    const err = await expectAwsError(
      server.client.send(new UpdateAliasCommand({ AliasName: name, TargetKeyId: key.KeyId })),
      'NotFoundException',
    );
    assert.equal(err.message, `Alias ${ARN_PREFIX}:${name} is not found.`);
  });

  it('UpdateAlias to an unknown key → NotFoundException', async () => {
    const key = await newKey();
    const name = aliasName();
    await server.client.send(new CreateAliasCommand({ AliasName: name, TargetKeyId: key.KeyId }));
    await expectAwsError(
      server.client.send(
        new UpdateAliasCommand({
          AliasName: name,
          TargetKeyId: '00000000-1111-2222-3333-444444444444',
        }),
      ),
      'NotFoundException',
    );
    const d = await server.client.send(new DescribeKeyCommand({ KeyId: name }));
    assert.equal(d.KeyMetadata?.KeyId, key.KeyId);
  });

  it('DeleteAlias removes it; later lookups and deletes → NotFoundException', async () => {
    const key = await newKey();
    const name = aliasName();
    await server.client.send(new CreateAliasCommand({ AliasName: name, TargetKeyId: key.KeyId }));
    await server.client.send(new DeleteAliasCommand({ AliasName: name }));
    const err = await expectAwsError(
      server.client.send(new DescribeKeyCommand({ KeyId: name })),
      'NotFoundException',
    );
    assert.equal(err.message, `Alias ${ARN_PREFIX}:${name} is not found.`);
    await expectAwsError(
      server.client.send(new DeleteAliasCommand({ AliasName: name })),
      'NotFoundException',
    );
    assert.equal(
      (await allAliases()).find((a) => a.AliasName === name),
      undefined,
    );
    // the key itself is untouched, and the name can be reused
    const d = await server.client.send(new DescribeKeyCommand({ KeyId: key.KeyId }));
    assert.equal(d.KeyMetadata?.KeyState, 'Enabled');
    await server.client.send(new CreateAliasCommand({ AliasName: name, TargetKeyId: key.KeyId }));
  });

  it('DeleteAlias of a name without the alias/ prefix → ValidationException', async () => {
    await expectAwsError(
      server.client.send(new DeleteAliasCommand({ AliasName: 'noprefix' })),
      'ValidationException',
    );
  });
});

describe('ListAliases', () => {
  it('KeyId filter returns only that key’s aliases, and pages with Limit 2', async () => {
    const key = await newKey();
    const other = await newKey();
    const names = Array.from({ length: 5 }, () => aliasName('list'));
    for (const n of names) {
      await server.client.send(new CreateAliasCommand({ AliasName: n, TargetKeyId: key.KeyId }));
    }
    await server.client.send(
      new CreateAliasCommand({ AliasName: aliasName('other'), TargetKeyId: other.KeyId }),
    );

    const seen: string[] = [];
    let marker: string | undefined;
    let pages = 0;
    for (;;) {
      const out = await server.client.send(
        new ListAliasesCommand({ KeyId: key.Arn, Limit: 2, Marker: marker }),
      );
      pages++;
      assert.ok(pages <= 5);
      for (const a of out.Aliases ?? []) {
        assert.equal(a.TargetKeyId, key.KeyId);
        seen.push(a.AliasName as string);
      }
      if (out.Truncated === true) {
        assert.equal(out.Aliases?.length, 2);
        assert.ok(typeof out.NextMarker === 'string' && out.NextMarker.length > 0);
        marker = out.NextMarker;
      } else {
        assert.equal(out.Truncated, false);
        assert.equal(out.NextMarker, undefined);
        break;
      }
    }
    assert.equal(pages, 3);
    assert.deepEqual([...seen].sort(), [...names].sort());
  });

  it('KeyId filter for a key without aliases → empty list', async () => {
    const key = await newKey();
    const out = await server.client.send(new ListAliasesCommand({ KeyId: key.KeyId }));
    assert.deepEqual(out.Aliases ?? [], []);
    assert.equal(out.Truncated, false);
  });

  it('KeyId filter for an unknown key → NotFoundException', async () => {
    await expectAwsError(
      server.client.send(new ListAliasesCommand({ KeyId: '00000000-1111-2222-3333-444444444444' })),
      'NotFoundException',
    );
  });

  it('invalid Marker → InvalidMarkerException', async () => {
    await expectAwsError(
      server.client.send(new ListAliasesCommand({ Marker: 'garbage-marker' })),
      'InvalidMarkerException',
    );
  });
});

describe('TagResource / UntagResource / ListResourceTags', () => {
  it('tags, updates a value, and untags', async () => {
    const key = await newKey();
    await server.client.send(
      new TagResourceCommand({
        KeyId: key.KeyId,
        Tags: [
          { TagKey: 'a', TagValue: '1' },
          { TagKey: 'b', TagValue: '2' },
        ],
      }),
    );
    let tags = await server.client.send(new ListResourceTagsCommand({ KeyId: key.KeyId }));
    assert.deepEqual(sortTags(tags.Tags), [
      { TagKey: 'a', TagValue: '1' },
      { TagKey: 'b', TagValue: '2' },
    ]);
    assert.equal(tags.Truncated, false);
    assert.equal(tags.NextMarker, undefined);

    // updating an existing tag key replaces its value; other tags stay
    await server.client.send(
      new TagResourceCommand({ KeyId: key.Arn, Tags: [{ TagKey: 'a', TagValue: 'changed' }] }),
    );
    tags = await server.client.send(new ListResourceTagsCommand({ KeyId: key.Arn }));
    assert.deepEqual(sortTags(tags.Tags), [
      { TagKey: 'a', TagValue: 'changed' },
      { TagKey: 'b', TagValue: '2' },
    ]);

    // empty values are allowed
    await server.client.send(
      new TagResourceCommand({ KeyId: key.KeyId, Tags: [{ TagKey: 'empty', TagValue: '' }] }),
    );
    await server.client.send(
      new UntagResourceCommand({ KeyId: key.KeyId, TagKeys: ['a', 'not-there'] }),
    );
    tags = await server.client.send(new ListResourceTagsCommand({ KeyId: key.KeyId }));
    assert.deepEqual(sortTags(tags.Tags), [
      { TagKey: 'b', TagValue: '2' },
      { TagKey: 'empty', TagValue: '' },
    ]);
  });

  it('tag keys are case-sensitive', async () => {
    const key = await newKey();
    await server.client.send(
      new TagResourceCommand({
        KeyId: key.KeyId,
        Tags: [
          { TagKey: 'Env', TagValue: 'x' },
          { TagKey: 'env', TagValue: 'y' },
        ],
      }),
    );
    const tags = await server.client.send(new ListResourceTagsCommand({ KeyId: key.KeyId }));
    assert.equal(tags.Tags?.length, 2);
  });

  it('paginates tags with Limit 2', async () => {
    const key = await newKey();
    const want = Array.from({ length: 5 }, (_, i) => ({ TagKey: `k${i}`, TagValue: `v${i}` }));
    await server.client.send(new TagResourceCommand({ KeyId: key.KeyId, Tags: want }));
    const seen: Tag[] = [];
    let marker: string | undefined;
    let pages = 0;
    for (;;) {
      const out = await server.client.send(
        new ListResourceTagsCommand({ KeyId: key.KeyId, Limit: 2, Marker: marker }),
      );
      pages++;
      assert.ok(pages <= 5);
      seen.push(...(out.Tags ?? []));
      if (out.Truncated === true) {
        assert.equal(out.Tags?.length, 2);
        assert.ok(typeof out.NextMarker === 'string');
        marker = out.NextMarker;
      } else {
        assert.equal(out.Truncated, false);
        assert.equal(out.NextMarker, undefined);
        break;
      }
    }
    assert.equal(pages, 3);
    assert.deepEqual(sortTags(seen), want);
  });

  it('ListResourceTags invalid Marker → InvalidMarkerException', async () => {
    const key = await newKey();
    await expectAwsError(
      server.client.send(new ListResourceTagsCommand({ KeyId: key.KeyId, Marker: 'bogus' })),
      'InvalidMarkerException',
    );
  });

  it('tag key beginning with aws: → TagException; nothing is stored', async () => {
    const key = await newKey();
    await expectAwsError(
      server.client.send(
        new TagResourceCommand({
          KeyId: key.KeyId,
          Tags: [
            { TagKey: 'ok', TagValue: '1' },
            { TagKey: 'aws:reserved', TagValue: '2' },
          ],
        }),
      ),
      'TagException',
    );
    const tags = await server.client.send(new ListResourceTagsCommand({ KeyId: key.KeyId }));
    assert.deepEqual(tags.Tags ?? [], []);
  });

  it('tag key of 129 characters → ValidationException', async () => {
    const key = await newKey();
    await expectAwsError(
      server.client.send(
        new TagResourceCommand({
          KeyId: key.KeyId,
          Tags: [{ TagKey: 'k'.repeat(129), TagValue: 'v' }],
        }),
      ),
      'ValidationException',
    );
  });

  it('tag value of 257 characters → ValidationException', async () => {
    const key = await newKey();
    await expectAwsError(
      server.client.send(
        new TagResourceCommand({
          KeyId: key.KeyId,
          Tags: [{ TagKey: 'k', TagValue: 'v'.repeat(257) }],
        }),
      ),
      'ValidationException',
    );
  });

  it('more than 50 tags on one key → LimitExceededException', async () => {
    const key = await newKey();
    const tags = Array.from({ length: 50 }, (_, i) => ({ TagKey: `t${i}`, TagValue: 'v' }));
    await server.client.send(new TagResourceCommand({ KeyId: key.KeyId, Tags: tags }));
    await expectAwsError(
      server.client.send(
        new TagResourceCommand({ KeyId: key.KeyId, Tags: [{ TagKey: 'one-more', TagValue: 'v' }] }),
      ),
      'LimitExceededException',
    );
    // re-tagging an existing key is not a new tag
    await server.client.send(
      new TagResourceCommand({ KeyId: key.KeyId, Tags: [{ TagKey: 't0', TagValue: 'new' }] }),
    );
  });

  it('tag operations on an unknown key → NotFoundException', async () => {
    const id = '00000000-1111-2222-3333-444444444444';
    await expectAwsError(
      server.client.send(
        new TagResourceCommand({ KeyId: id, Tags: [{ TagKey: 'a', TagValue: 'b' }] }),
      ),
      'NotFoundException',
    );
    await expectAwsError(
      server.client.send(new UntagResourceCommand({ KeyId: id, TagKeys: ['a'] })),
      'NotFoundException',
    );
    await expectAwsError(
      server.client.send(new ListResourceTagsCommand({ KeyId: id })),
      'NotFoundException',
    );
  });
});
