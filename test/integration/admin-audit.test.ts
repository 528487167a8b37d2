/**
 * The admin operations behind the console's audit and "why denied?" pages, called with
 * SigV4 like `keyhold admin`: KeyholdAdmin.QueryAudit, VerifyAudit, ExplainAuthorization.
 * Root only; validation errors by name; verification while requests keep being recorded.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { CreateKeyCommand, EncryptCommand } from '@aws-sdk/client-kms';
import { AdminCallError, callAdmin } from '../../src/cli/admin-commands.js';
import {
  startTestServer,
  TEST_ACCESS_KEY_ID,
  TEST_ACCOUNT_ID,
  TEST_REGION,
  TEST_SECRET_ACCESS_KEY,
  type TestServer,
} from '../helpers/server.js';

type Json = Record<string, unknown>;
interface Event {
  eventName: string;
  eventID: string;
  resources?: { ARN: string }[];
  recipientAccountId: string;
}

describe('admin API: audit and explain', () => {
  let server: TestServer;
  let keyArn: string;
  let user: { arn: string; id: string; secret: string };
  const root = { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY };
  const call = <T = Json>(op: string, input: Json, credentials = root) =>
    callAdmin(op, input, {
      endpointUrl: server.url,
      region: TEST_REGION,
      credentials,
    }) as Promise<T>;
  const fails = async (p: Promise<unknown>, code: string) => {
    await assert.rejects(p, (e: unknown) => e instanceof AdminCallError && e.code === code);
  };

  before(async () => {
    server = await startTestServer();
    const k = await server.client.send(new CreateKeyCommand({ Description: 'audit api' }));
    keyArn = k.KeyMetadata?.Arn as string;
    for (let i = 0; i < 5; i++)
      await server.client.send(new EncryptCommand({ KeyId: keyArn, Plaintext: Buffer.from('x') }));
    const u = await call<{ User: { Arn: string } }>('CreateUser', {
      AccountId: TEST_ACCOUNT_ID,
      UserName: 'dave',
    });
    const ak = await call<{ AccessKey: { AccessKeyId: string; SecretAccessKey: string } }>(
      'CreateAccessKey',
      { UserArn: u.User.Arn },
    );
    user = { arn: u.User.Arn, id: ak.AccessKey.AccessKeyId, secret: ak.AccessKey.SecretAccessKey };
    // Even full KMS permissions do not open the admin API.
    await call('PutUserPolicy', {
      UserArn: user.arn,
      PolicyName: 'all-kms',
      PolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 'kms:*', Resource: '*' }],
      }),
    });
  });
  after(async () => {
    await server?.stop();
  });

  it('QueryAudit filters by key ARN and event name', async () => {
    const r = await call<{ Events: Event[]; NextToken?: string }>('QueryAudit', {
      KeyArn: keyArn,
      EventName: 'Encrypt',
    });
    assert.equal(r.Events.length, 5);
    assert.ok(r.Events.every((e) => e.eventName === 'Encrypt' && e.resources?.[0]?.ARN === keyArn));
    assert.equal(r.NextToken, undefined);
    // Exactly Limit matches: no token to an empty page, in either order.
    for (const Order of ['OldestFirst', 'NewestFirst']) {
      const exact = await call<{ Events: Event[]; NextToken?: string }>('QueryAudit', {
        KeyArn: keyArn,
        EventName: 'Encrypt',
        Limit: 5,
        Order,
      });
      assert.equal(exact.Events.length, 5);
      assert.equal(exact.NextToken, undefined, Order);
    }
    const none = await call<{ Events: Event[] }>('QueryAudit', {
      KeyArn: keyArn,
      StartTime: Date.now() / 1000 + 3600,
    });
    assert.deepEqual(none.Events, []);
    const iso = await call<{ Events: Event[] }>('QueryAudit', {
      EventName: 'CreateKey',
      EndTime: new Date(Date.now() + 60_000).toISOString(),
    });
    assert.ok(iso.Events.length >= 1);
  });

  it('QueryAudit pages with Limit and NextToken, without gaps or repeats', async () => {
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const r = await call<{ Events: Event[]; NextToken?: string }>('QueryAudit', {
        KeyArn: keyArn,
        Limit: 2,
        ...(token !== undefined ? { NextToken: token } : {}),
      });
      seen.push(...r.Events.map((e) => e.eventID));
      token = r.NextToken;
      pages++;
    } while (token !== undefined && pages < 20);
    const all = await call<{ Events: Event[] }>('QueryAudit', { KeyArn: keyArn, Limit: 1000 });
    assert.deepEqual(
      seen,
      all.Events.map((e) => e.eventID),
    );
    assert.equal(new Set(seen).size, seen.length);
    assert.ok(pages >= 3);
  });

  it('QueryAudit NewestFirst pages from the newest event back to the oldest', async () => {
    const all = await call<{ Events: Event[] }>('QueryAudit', { KeyArn: keyArn, Limit: 1000 });
    const oldestFirst = all.Events.map((e) => e.eventID);
    assert.ok(oldestFirst.length >= 6);
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const r = await call<{ Events: Event[]; NextToken?: string }>('QueryAudit', {
        KeyArn: keyArn,
        Order: 'NewestFirst',
        Limit: 2,
        ...(token !== undefined ? { NextToken: token } : {}),
      });
      seen.push(...r.Events.map((e) => e.eventID));
      token = r.NextToken;
      pages++;
    } while (token !== undefined && pages < 20);
    assert.deepEqual(seen, [...oldestFirst].reverse());
    assert.ok(pages >= 3);
    // Events recorded after the first page do not shift the pages that follow.
    const first = await call<{ Events: Event[]; NextToken: string }>('QueryAudit', {
      KeyArn: keyArn,
      Order: 'NewestFirst',
      Limit: 2,
    });
    await server.client.send(new EncryptCommand({ KeyId: keyArn, Plaintext: Buffer.from('y') }));
    const second = await call<{ Events: Event[] }>('QueryAudit', {
      KeyArn: keyArn,
      Order: 'NewestFirst',
      Limit: 2,
      NextToken: first.NextToken,
    });
    assert.deepEqual(
      second.Events.map((e) => e.eventID),
      [...oldestFirst].reverse().slice(2, 4),
    );
  });

  it('QueryAudit refuses a bad Order and a token from the other order', async () => {
    await fails(call('QueryAudit', { Order: 'Sideways' }), 'ValidationError');
    await fails(call('QueryAudit', { Order: 7 }), 'ValidationError');
    const newest = await call<{ NextToken: string }>('QueryAudit', {
      Order: 'NewestFirst',
      Limit: 1,
    });
    const oldest = await call<{ NextToken: string }>('QueryAudit', { Limit: 1 });
    assert.match(newest.NextToken, /^older-\d+$/);
    assert.match(oldest.NextToken, /^\d+$/);
    await fails(call('QueryAudit', { NextToken: newest.NextToken }), 'ValidationError');
    await fails(
      call('QueryAudit', { Order: 'NewestFirst', NextToken: oldest.NextToken }),
      'ValidationError',
    );
    await fails(
      call('QueryAudit', { Order: 'NewestFirst', NextToken: 'older-x' }),
      'ValidationError',
    );
  });

  it('QueryAudit validates its input', async () => {
    await fails(call('QueryAudit', { Limit: 0 }), 'ValidationError');
    await fails(call('QueryAudit', { Limit: 1001 }), 'ValidationError');
    await fails(call('QueryAudit', { Limit: 'ten' }), 'ValidationError');
    await fails(call('QueryAudit', { NextToken: 'abc' }), 'ValidationError');
    await fails(call('QueryAudit', { StartTime: 'yesterday-ish' }), 'ValidationError');
    await fails(call('QueryAudit', { KeyArn: 7 }), 'ValidationError');
  });

  it('only the account root may call them', async () => {
    const creds = { accessKeyId: user.id, secretAccessKey: user.secret };
    for (const [op, input] of [
      ['QueryAudit', {}],
      ['VerifyAudit', {}],
      ['ExplainAuthorization', { PrincipalArn: user.arn, Action: 'kms:Decrypt', KeyId: keyArn }],
    ] as const)
      await fails(call(op, input, creds), 'AccessDenied');
    // Another account's root is not this account's root.
    await fails(call('QueryAudit', { AccountId: '999988887777' }), 'AccessDenied');
    // The refusals were audited, by name.
    const r = await call<{ Events: (Event & { errorCode?: string })[] }>('QueryAudit', {
      EventName: 'KeyholdAdmin.VerifyAudit',
    });
    assert.ok(r.Events.some((e) => e.errorCode === 'AccessDenied'));
  });

  it('VerifyAudit verifies the live chain while requests keep coming', async () => {
    const load = Promise.all(
      Array.from({ length: 40 }, () =>
        server.client.send(new EncryptCommand({ KeyId: keyArn, Plaintext: Buffer.from('y') })),
      ),
    );
    const results = await Promise.all(
      Array.from({ length: 5 }, () =>
        call<{
          Valid: boolean;
          EventsVerified: number;
          Problem?: unknown;
          Resets: unknown[];
          Head?: { Seq: number; ChainHash: string };
        }>('VerifyAudit', {}),
      ),
    );
    await load;
    for (const v of results) {
      assert.equal(v.Valid, true, JSON.stringify(v));
      assert.ok(v.EventsVerified >= 10);
      assert.equal(v.Problem, undefined);
      assert.deepEqual(v.Resets, []);
      assert.equal(v.Head?.Seq, v.EventsVerified);
      assert.match(v.Head?.ChainHash ?? '', /^[0-9a-f]{64}$/);
    }
  });

  it('ExplainAuthorization explains allows and denies', async () => {
    const denied = await call<{ Explanation: Json }>('ExplainAuthorization', {
      PrincipalArn: `arn:aws:iam::${TEST_ACCOUNT_ID}:user/nobody-${randomUUID().slice(0, 4)}`,
      Action: 'kms:Decrypt',
      KeyId: keyArn,
    });
    assert.equal(denied.Explanation['allowed'], false);
    assert.equal(denied.Explanation['kind'], 'implicit-deny');
    assert.equal(denied.Explanation['key'], keyArn);
    const allowed = await call<{ Explanation: Json }>('ExplainAuthorization', {
      PrincipalArn: user.arn,
      Action: 'kms:Decrypt',
      KeyId: keyArn.split('/')[1],
      EncryptionContext: { tenant: 'a' },
    });
    assert.equal(allowed.Explanation['allowed'], true);
    assert.ok(Array.isArray(allowed.Explanation['reasons']));
  });

  it('ExplainAuthorization validates its input', async () => {
    const base = { PrincipalArn: user.arn, Action: 'kms:Decrypt', KeyId: keyArn };
    await fails(call('ExplainAuthorization', { ...base, KeyId: randomUUID() }), 'NoSuchEntity');
    await fails(call('ExplainAuthorization', { ...base, KeyId: 'alias/x' }), 'NoSuchEntity');
    await fails(call('ExplainAuthorization', { ...base, PrincipalArn: 'bob' }), 'ValidationError');
    await fails(call('ExplainAuthorization', { ...base, Action: 'Decrypt' }), 'ValidationError');
    await fails(call('ExplainAuthorization', { ...base, Action: undefined }), 'ValidationError');
    await fails(
      call('ExplainAuthorization', { ...base, EncryptionContext: { a: 1 } }),
      'ValidationError',
    );
  });
});
