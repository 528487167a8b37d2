/**
 * Grants (CreateGrant, ListGrants, ListRetirableGrants, RetireGrant, RevokeGrant) through the
 * real AWS SDK. Only the root identity exists in this harness, so "who may retire" is
 * exercised as the account root (the account in which the grant was created); grant
 * enforcement (a grantee using the key) is the authorizer's and tested there.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CreateGrantCommand,
  CreateKeyCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  ListGrantsCommand,
  ListRetirableGrantsCommand,
  RetireGrantCommand,
  RevokeGrantCommand,
  ScheduleKeyDeletionCommand,
  type CreateGrantCommandInput,
  type GrantListEntry,
  type KeyMetadata,
} from '@aws-sdk/client-kms';
import { runJobsOnce } from '../../src/kms/jobs/background-jobs.js';
import {
  TEST_ACCOUNT_ID,
  expectAwsError,
  startTestServer,
  type TestServer,
} from '../helpers/server.js';

const ROOT = `arn:aws:iam::${TEST_ACCOUNT_ID}:root`;
const ROLE = `arn:aws:iam::${TEST_ACCOUNT_ID}:role/app`;
const RETIRER = `arn:aws:iam::${TEST_ACCOUNT_ID}:user/retirer`;
const DAY_MS = 86_400_000;

let server: TestServer;

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

function grant(key: KeyMetadata, extra: Partial<CreateGrantCommandInput> = {}) {
  return server.client.send(
    new CreateGrantCommand({
      KeyId: key.KeyId,
      GranteePrincipal: ROLE,
      Operations: ['Encrypt', 'Decrypt'],
      ...extra,
    }),
  );
}

async function allGrants(keyId: string, limit?: number): Promise<GrantListEntry[]> {
  const out: GrantListEntry[] = [];
  let marker: string | undefined;
  for (let i = 0; i < 100; i++) {
    const page = await server.client.send(
      new ListGrantsCommand({ KeyId: keyId, Limit: limit, Marker: marker }),
    );
    out.push(...(page.Grants ?? []));
    if (page.Truncated !== true) {
      assert.equal(page.NextMarker, undefined);
      return out;
    }
    marker = page.NextMarker;
  }
  throw new Error('ListGrants did not terminate');
}

describe('CreateGrant + ListGrants', () => {
  it('creates a grant listed with every GrantListEntry field', async () => {
    const key = await newKey();
    const before = Date.now();
    const out = await grant(key, {
      Name: 'my-grant',
      RetiringPrincipal: RETIRER,
      Constraints: { EncryptionContextSubset: { Department: 'IT' } },
    });
    assert.match(out.GrantId ?? '', /^[0-9a-f]{64}$/);
    assert.match(out.GrantToken ?? '', /^[A-Za-z0-9+/]+=*$/);
    const list = await server.client.send(new ListGrantsCommand({ KeyId: key.Arn }));
    assert.equal(list.Truncated, false);
    assert.equal(list.Grants?.length, 1);
    const g = list.Grants?.[0] as GrantListEntry;
    assert.equal(g.KeyId, key.Arn);
    assert.equal(g.GrantId, out.GrantId);
    assert.equal(g.Name, 'my-grant');
    assert.equal(g.GranteePrincipal, ROLE);
    assert.equal(g.RetiringPrincipal, RETIRER);
    assert.equal(g.IssuingAccount, ROOT);
    assert.deepEqual(g.Operations, ['Encrypt', 'Decrypt']);
    assert.deepEqual(g.Constraints, { EncryptionContextSubset: { Department: 'IT' } });
    assert.ok((g.CreationDate?.getTime() ?? 0) >= Math.floor(before / 1000) * 1000);
  });

  it('an unnamed grant has no Name, RetiringPrincipal or Constraints', async () => {
    const key = await newKey();
    await grant(key, { Constraints: { EncryptionContextEquals: { a: 'b' } } });
    await grant(key);
    const gs = await allGrants(key.KeyId as string);
    assert.equal(gs.length, 2);
    const plain = gs.find((g) => g.Constraints === undefined);
    assert.ok(plain);
    assert.equal(plain.Name, undefined);
    assert.equal(plain.RetiringPrincipal, undefined);
    assert.ok(gs.some((g) => g.Constraints?.EncryptionContextEquals?.a === 'b'));
  });

  it("an empty map for the unused constraint is not given (Terraform's AWS provider sends both)", async () => {
    const key = await newKey();
    const eq = await grant(key, {
      Constraints: { EncryptionContextEquals: { dept: 'eng' }, EncryptionContextSubset: {} },
    });
    const sub = await grant(key, {
      Constraints: { EncryptionContextEquals: {}, EncryptionContextSubset: { dept: 'eng' } },
    });
    const none = await grant(key, {
      Constraints: { EncryptionContextEquals: {}, EncryptionContextSubset: {} },
    });
    const byId = new Map((await allGrants(key.KeyId as string)).map((g) => [g.GrantId, g]));
    assert.deepEqual(byId.get(eq.GrantId as string)?.Constraints, {
      EncryptionContextEquals: { dept: 'eng' },
    });
    assert.deepEqual(byId.get(sub.GrantId as string)?.Constraints, {
      EncryptionContextSubset: { dept: 'eng' },
    });
    assert.equal(byId.get(none.GrantId as string)?.Constraints, undefined);
    // Two non-empty constraints are still refused, and create nothing.
    const e = await expectAwsError(
      grant(key, {
        Constraints: { EncryptionContextEquals: { a: '1' }, EncryptionContextSubset: { b: '2' } },
      }),
      'ValidationException',
    );
    assert.equal(e.message, 'More than one constraint supplied');
    assert.equal(byId.size, 3);
    assert.equal((await allGrants(key.KeyId as string)).length, 3);
  });

  it('Name makes a retry idempotent: same GrantId, a new token; other parameters make a new grant', async () => {
    const key = await newKey();
    const a = await grant(key, { Name: 'retry' });
    const b = await grant(key, { Name: 'retry', Operations: ['Decrypt', 'Encrypt'] });
    assert.equal(b.GrantId, a.GrantId);
    assert.notEqual(b.GrantToken, a.GrantToken);
    const c = await grant(key, { Name: 'retry', Operations: ['Encrypt'] });
    assert.notEqual(c.GrantId, a.GrantId);
    // Without a Name every call is a new grant.
    const d = await grant(key);
    const e = await grant(key);
    assert.notEqual(d.GrantId, e.GrantId);
    assert.equal((await allGrants(key.KeyId as string)).length, 4);
    // Both tokens of the idempotent grant work: retiring by the second removes it.
    await server.client.send(new RetireGrantCommand({ GrantToken: b.GrantToken }));
    await expectAwsError(
      server.client.send(new RetireGrantCommand({ GrantToken: a.GrantToken })),
      'InvalidGrantTokenException',
    );
  });

  it('paginates with Limit/Marker and filters by GrantId and GranteePrincipal', async () => {
    const key = await newKey();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await grant(key)).GrantId as string);
    const other = await grant(key, { GranteePrincipal: RETIRER });
    const paged = await allGrants(key.KeyId as string, 2);
    assert.deepEqual(paged.map((g) => g.GrantId).sort(), [...ids, other.GrantId].sort());
    const first = await server.client.send(new ListGrantsCommand({ KeyId: key.KeyId, Limit: 2 }));
    assert.equal(first.Truncated, true);
    assert.equal(first.Grants?.length, 2);
    assert.ok(first.NextMarker);
    const byId = await server.client.send(
      new ListGrantsCommand({ KeyId: key.KeyId, GrantId: ids[3] }),
    );
    assert.deepEqual(
      byId.Grants?.map((g) => g.GrantId),
      [ids[3]],
    );
    const byGrantee = await server.client.send(
      new ListGrantsCommand({ KeyId: key.KeyId, GranteePrincipal: RETIRER }),
    );
    assert.deepEqual(
      byGrantee.Grants?.map((g) => g.GrantId),
      [other.GrantId],
    );
    const none = await server.client.send(
      new ListGrantsCommand({ KeyId: key.KeyId, GrantId: 'a'.repeat(64) }),
    );
    assert.deepEqual(none.Grants, []);
    await expectAwsError(
      server.client.send(new ListGrantsCommand({ KeyId: key.KeyId, GrantId: 'nope' })),
      'InvalidGrantIdException',
    );
    await expectAwsError(
      server.client.send(new ListGrantsCommand({ KeyId: key.KeyId, Marker: 'garbage' })),
      'InvalidMarkerException',
    );
    await expectAwsError(
      server.client.send(new ListGrantsCommand({ KeyId: key.KeyId, Limit: 101 })),
      'ValidationException',
    );
  });

  it('refuses operations the key type cannot grant, empty operations, and bad parameters', async () => {
    const key = await newKey();
    for (const op of [
      'Sign',
      'Verify',
      'GenerateMac',
      'VerifyMac',
      'GetPublicKey',
      'DeriveSharedSecret',
    ] as const) {
      await expectAwsError(grant(key, { Operations: ['Encrypt', op] }), 'ValidationException');
    }
    await expectAwsError(grant(key, { Operations: [] }), 'ValidationException');
    await expectAwsError(
      grant(key, {
        Constraints: { EncryptionContextSubset: { a: '1' }, EncryptionContextEquals: { a: '1' } },
      }),
      'ValidationException',
    );
    await expectAwsError(grant(key, { GranteePrincipal: 'not-an-arn' }), 'InvalidArnException');
    await expectAwsError(grant(key, { RetiringPrincipal: 'bob' }), 'InvalidArnException');
    await expectAwsError(
      grant(key, { GranteePrincipal: undefined, GranteeServicePrincipal: 'rds.amazonaws.com' }),
      'UnsupportedOperationException',
    );
    await expectAwsError(grant(key, { GrantTokens: ['bogus'] }), 'InvalidGrantTokenException');
    await expectAwsError(grant(key, { Name: 'bad name!' }), 'ValidationException');
    assert.equal((await allGrants(key.KeyId as string)).length, 0);
  });

  it('accepts only key ids and key ARNs (an alias → InvalidArnException), NotFound for unknown keys', async () => {
    const key = await newKey();
    await grant(key, { KeyId: key.Arn });
    const err = await expectAwsError(
      grant(key, { KeyId: 'alias/whatever' }),
      'InvalidArnException',
    );
    assert.equal(err.message, 'Key Aliases are not supported for this operation.');
    await expectAwsError(
      grant(key, { KeyId: '00000000-0000-0000-0000-000000000000' }),
      'NotFoundException',
    );
    await expectAwsError(
      server.client.send(new ListGrantsCommand({ KeyId: 'alias/whatever' })),
      'InvalidArnException',
    );
  });

  it('DryRun succeeds without creating a grant', async () => {
    const key = await newKey();
    await expectAwsError(grant(key, { DryRun: true }), 'DryRunOperationException');
    await expectAwsError(grant(key, { DryRun: true, Operations: ['Sign'] }), 'ValidationException');
    assert.equal((await allGrants(key.KeyId as string)).length, 0);
  });

  it('follows the key-state table: Disabled and PendingDeletion keys take no new grants', async () => {
    const key = await newKey();
    const g = await grant(key);
    await server.client.send(new DisableKeyCommand({ KeyId: key.KeyId }));
    await expectAwsError(grant(key), 'DisabledException');
    // Listing, retiring and revoking work in any state.
    assert.equal((await allGrants(key.KeyId as string)).length, 1);
    await server.client.send(new EnableKeyCommand({ KeyId: key.KeyId }));
    await server.client.send(
      new ScheduleKeyDeletionCommand({ KeyId: key.KeyId, PendingWindowInDays: 7 }),
    );
    await expectAwsError(grant(key), 'KMSInvalidStateException');
    await server.client.send(new RevokeGrantCommand({ KeyId: key.KeyId, GrantId: g.GrantId }));
    assert.equal((await allGrants(key.KeyId as string)).length, 0);
  });
});

describe('RetireGrant / RevokeGrant / ListRetirableGrants', () => {
  it('retires by token and by key ARN + grant id', async () => {
    const key = await newKey();
    const a = await grant(key);
    const b = await grant(key);
    await server.client.send(new RetireGrantCommand({ GrantToken: a.GrantToken }));
    await server.client.send(new RetireGrantCommand({ KeyId: key.Arn, GrantId: b.GrantId }));
    assert.equal((await allGrants(key.KeyId as string)).length, 0);
    await expectAwsError(
      server.client.send(new RetireGrantCommand({ KeyId: key.Arn, GrantId: b.GrantId })),
      'NotFoundException',
    );
  });

  it('retire refuses bad identifiers', async () => {
    const key = await newKey();
    const g = await grant(key);
    await expectAwsError(
      server.client.send(new RetireGrantCommand({ GrantToken: 'AQpAM2RhZmZlZGVmZ' })),
      'InvalidGrantTokenException',
    );
    // Well-formed but never issued.
    const fake = Buffer.concat([Buffer.of(1), Buffer.alloc(64, 7)]).toString('base64');
    await expectAwsError(
      server.client.send(new RetireGrantCommand({ GrantToken: fake })),
      'InvalidGrantTokenException',
    );
    await expectAwsError(
      server.client.send(new RetireGrantCommand({ KeyId: key.Arn })),
      'ValidationException',
    );
    await expectAwsError(
      server.client.send(new RetireGrantCommand({ KeyId: 'alias/whatever', GrantId: g.GrantId })),
      'InvalidArnException',
    );
    await expectAwsError(
      server.client.send(new RetireGrantCommand({ KeyId: key.Arn, GrantId: 'xyz' })),
      'InvalidGrantIdException',
    );
    await expectAwsError(
      server.client.send(new RetireGrantCommand({ GrantToken: g.GrantToken, DryRun: true })),
      'DryRunOperationException',
    );
    assert.equal((await allGrants(key.KeyId as string)).length, 1);
  });

  it('the account root (where the grant was created) may retire any of its grants', async () => {
    // The grant neither names root as retiring principal nor allows RetireGrant.
    const key = await newKey();
    const g = await grant(key, { RetiringPrincipal: RETIRER, Operations: ['Decrypt'] });
    await server.client.send(new RetireGrantCommand({ GrantToken: g.GrantToken }));
    assert.equal((await allGrants(key.KeyId as string)).length, 0);
  });

  it('revokes by key id or ARN; unknown ids are NotFound / InvalidGrantId; DryRun keeps it', async () => {
    const key = await newKey();
    const a = await grant(key);
    const b = await grant(key);
    await expectAwsError(
      server.client.send(
        new RevokeGrantCommand({ KeyId: key.KeyId, GrantId: a.GrantId, DryRun: true }),
      ),
      'DryRunOperationException',
    );
    await server.client.send(new RevokeGrantCommand({ KeyId: key.KeyId, GrantId: a.GrantId }));
    await server.client.send(new RevokeGrantCommand({ KeyId: key.Arn, GrantId: b.GrantId }));
    assert.equal((await allGrants(key.KeyId as string)).length, 0);
    await expectAwsError(
      server.client.send(new RevokeGrantCommand({ KeyId: key.KeyId, GrantId: a.GrantId })),
      'NotFoundException',
    );
    await expectAwsError(
      server.client.send(new RevokeGrantCommand({ KeyId: key.KeyId, GrantId: 'nope' })),
      'InvalidGrantIdException',
    );
    // A grant of another key is not found through this key.
    const other = await newKey();
    const c = await grant(other);
    await expectAwsError(
      server.client.send(new RevokeGrantCommand({ KeyId: key.KeyId, GrantId: c.GrantId })),
      'NotFoundException',
    );
  });

  it('lists retirable grants across keys, paginated', async () => {
    const retirer = `arn:aws:iam::${TEST_ACCOUNT_ID}:user/retirer-${Date.now()}`;
    const k1 = await newKey();
    const k2 = await newKey();
    const ids = [
      (await grant(k1, { RetiringPrincipal: retirer })).GrantId,
      (await grant(k2, { RetiringPrincipal: retirer })).GrantId,
      (await grant(k2, { RetiringPrincipal: retirer })).GrantId,
    ];
    await grant(k1);
    const seen: GrantListEntry[] = [];
    let marker: string | undefined;
    for (;;) {
      const page = await server.client.send(
        new ListRetirableGrantsCommand({ RetiringPrincipal: retirer, Limit: 2, Marker: marker }),
      );
      seen.push(...(page.Grants ?? []));
      if (page.Truncated !== true) break;
      marker = page.NextMarker;
    }
    assert.deepEqual(seen.map((g) => g.GrantId).sort(), [...ids].sort());
    assert.ok(seen.every((g) => g.RetiringPrincipal === retirer));
    assert.ok(seen.some((g) => g.KeyId === k1.Arn) && seen.some((g) => g.KeyId === k2.Arn));
    await expectAwsError(
      server.client.send(new ListRetirableGrantsCommand({ RetiringPrincipal: 'bob' })),
      'InvalidArnException',
    );
    await expectAwsError(
      server.client.send(
        new ListRetirableGrantsCommand({ RetiringPrincipal: 'arn:aws:iam::444455556666:root' }),
      ),
      'AccessDeniedException',
    );
  });
});

describe('grants and key deletion', () => {
  it('are deleted with the key', async () => {
    const retirer = `arn:aws:iam::${TEST_ACCOUNT_ID}:user/doomed-${Date.now()}`;
    const key = await newKey();
    const g = await grant(key, { RetiringPrincipal: retirer });
    await server.client.send(
      new ScheduleKeyDeletionCommand({ KeyId: key.KeyId, PendingWindowInDays: 7 }),
    );
    server.clock.advance(31 * DAY_MS);
    try {
      await runJobsOnce(server.node.jobs);
    } finally {
      // SigV4 checks the server clock against the client's: move it back before calling.
      server.clock.advance(-31 * DAY_MS);
    }
    await expectAwsError(
      server.client.send(new ListGrantsCommand({ KeyId: key.KeyId })),
      'NotFoundException',
    );
    const retirable = await server.client.send(
      new ListRetirableGrantsCommand({ RetiringPrincipal: retirer }),
    );
    assert.deepEqual(retirable.Grants, []);
    await expectAwsError(
      server.client.send(new RetireGrantCommand({ GrantToken: g.GrantToken })),
      'InvalidGrantTokenException',
    );
  });
});
