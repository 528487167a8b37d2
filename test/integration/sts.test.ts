/**
 * Identities and STS end to end: a seed file loads users and roles; IAM users' keys
 * authenticate; AssumeRole through @aws-sdk/client-sts and the AWS CLI v2; temporary
 * credentials authenticate KMS calls; expired and wrong session tokens are refused; trust
 * policies are enforced.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KMSClient, ListKeysCommand } from '@aws-sdk/client-kms';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import {
  startTestServer,
  TEST_ACCESS_KEY_ID,
  TEST_ACCOUNT_ID,
  TEST_REGION,
  TEST_SECRET_ACCESS_KEY,
  type TestServer,
} from '../helpers/server.js';

const ACCT = TEST_ACCOUNT_ID;
const OTHER = '444455556666';
const AWS = '/usr/bin/aws';

const KEYS = {
  alice: { id: 'AKIAALICE00000000001', secret: 'aliceSecretKey0123456789abcdefghijklmnop' },
  bob: { id: 'AKIABOB0000000000001', secret: 'bobSecretKey0123456789abcdefghijklmnopqr' },
  carol: { id: 'AKIACAROL00000000001', secret: 'carolSecretKey0123456789abcdefghijklmnop' },
  eve: { id: 'AKIAEVE0000000000001', secret: 'eveSecretKey0123456789abcdefghijklmnopqr' },
};

type Creds = { accessKeyId: string; secretAccessKey: string; sessionToken?: string };

const AUTH_ERRORS = new Set([
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'ExpiredTokenException',
  'IncompleteSignatureException',
]);

describe('identities and STS', () => {
  let server: TestServer;
  let tmp: string;
  const clients: { destroy(): void }[] = [];

  const sts = (c: Creds) => {
    const client = new STSClient({
      endpoint: server.url,
      region: TEST_REGION,
      credentials: c,
      maxAttempts: 1,
    });
    clients.push(client);
    return client;
  };
  const kms = (c: Creds) => {
    const client = new KMSClient({
      endpoint: server.url,
      region: TEST_REGION,
      credentials: c,
      maxAttempts: 1,
    });
    clients.push(client);
    return client;
  };
  const creds = (k: { id: string; secret: string }): Creds => ({
    accessKeyId: k.id,
    secretAccessKey: k.secret,
  });
  const root: Creds = { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY };

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'keyhold-sts-'));
    for (const [name, k] of Object.entries(KEYS))
      writeFileSync(join(tmp, `${name}.secret`), `${k.secret}\n`);
    const trust = (aws: string) => ({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { AWS: aws }, Action: 'sts:AssumeRole' }],
    });
    const seed = {
      accounts: [
        {
          id: ACCT,
          users: [
            {
              name: 'alice',
              accessKeys: [{ accessKeyId: KEYS.alice.id, secretAccessKeyFile: 'alice.secret' }],
            },
            {
              name: 'bob',
              path: '/team/',
              accessKeys: [{ accessKeyId: KEYS.bob.id, secretAccessKeyFile: 'bob.secret' }],
              policies: {
                'assume-acct-role': {
                  Version: '2012-10-17',
                  Statement: [
                    {
                      Effect: 'Allow',
                      Action: 'sts:AssumeRole',
                      Resource: `arn:aws:iam::${ACCT}:role/acct-role`,
                    },
                  ],
                },
              },
            },
            {
              name: 'carol',
              accessKeys: [{ accessKeyId: KEYS.carol.id, secretAccessKeyFile: 'carol.secret' }],
            },
          ],
          roles: [
            {
              name: 'app',
              trustPolicy: trust(`arn:aws:iam::${ACCT}:user/alice`),
              maxSessionDuration: 7200,
              policies: {
                kms: {
                  Version: '2012-10-17',
                  Statement: [{ Effect: 'Allow', Action: 'kms:*', Resource: '*' }],
                },
              },
            },
            { name: 'acct-role', trustPolicy: trust(ACCT) },
            { name: 'other', trustPolicy: trust(`arn:aws:iam::${ACCT}:user/nobody`) },
            { name: 'cross', trustPolicy: trust(OTHER) },
          ],
        },
        {
          id: OTHER,
          users: [
            {
              name: 'eve',
              accessKeys: [{ accessKeyId: KEYS.eve.id, secretAccessKeyFile: 'eve.secret' }],
              policies: {
                p: {
                  Version: '2012-10-17',
                  Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: '*' }],
                },
              },
            },
          ],
        },
      ],
    };
    writeFileSync(join(tmp, 'seed.json'), JSON.stringify(seed));
    server = await startTestServer({
      env: { KEYHOLD_SEED_FILE: join(tmp, 'seed.json') },
      keepDataDir: true,
    });
  });

  after(async () => {
    for (const c of clients) c.destroy();
    await server.stop();
    rmSync(server.dataDir, { recursive: true, force: true });
    rmSync(tmp, { recursive: true, force: true });
  });

  it('the seed file loaded users and roles; an IAM user\u2019s key authenticates (GetCallerIdentity)', async () => {
    const me = await sts(creds(KEYS.alice)).send(new GetCallerIdentityCommand({}));
    assert.equal(me.Arn, `arn:aws:iam::${ACCT}:user/alice`);
    assert.equal(me.Account, ACCT);
    assert.match(me.UserId ?? '', /^AIDA[A-Z2-7]{17}$/);
    const bob = await sts(creds(KEYS.bob)).send(new GetCallerIdentityCommand({}));
    assert.equal(bob.Arn, `arn:aws:iam::${ACCT}:user/team/bob`);
    const r = await sts(root).send(new GetCallerIdentityCommand({}));
    assert.equal(r.Arn, `arn:aws:iam::${ACCT}:root`);
    assert.equal(r.UserId, ACCT);
    const e = await sts(creds(KEYS.eve)).send(new GetCallerIdentityCommand({}));
    assert.equal(e.Account, OTHER);
  });

  it('AssumeRole via @aws-sdk/client-sts: trust policy naming the user; temporary credentials work', async () => {
    const out = await sts(creds(KEYS.alice)).send(
      new AssumeRoleCommand({
        RoleArn: `arn:aws:iam::${ACCT}:role/app`,
        RoleSessionName: 'sdk-session',
        DurationSeconds: 900,
      }),
    );
    const c = out.Credentials;
    assert.ok(c !== undefined);
    assert.match(c.AccessKeyId ?? '', /^ASIA[A-Z2-7]{16}$/);
    assert.equal(c.SecretAccessKey?.length, 40);
    assert.ok((c.SessionToken ?? '').length > 100);
    const exp = c.Expiration?.getTime() ?? 0;
    const expected = server.clock.now().getTime() + 900_000;
    assert.ok(Math.abs(exp - expected) < 5000, `expiration ${c.Expiration?.toISOString()}`);
    assert.equal(out.AssumedRoleUser?.Arn, `arn:aws:sts::${ACCT}:assumed-role/app/sdk-session`);
    assert.match(out.AssumedRoleUser?.AssumedRoleId ?? '', /^AROA[A-Z2-7]{17}:sdk-session$/);

    const temp: Creds = {
      accessKeyId: c.AccessKeyId as string,
      secretAccessKey: c.SecretAccessKey as string,
      sessionToken: c.SessionToken as string,
    };
    const me = await sts(temp).send(new GetCallerIdentityCommand({}));
    assert.equal(me.Arn, `arn:aws:sts::${ACCT}:assumed-role/app/sdk-session`);
    assert.equal(me.UserId, out.AssumedRoleUser?.AssumedRoleId);
    await assertAuthenticates(kms(temp).send(new ListKeysCommand({})));
  });

  it('trust policy naming the account: an identity policy must allow (bob yes, carol no)', async () => {
    const arn = `arn:aws:iam::${ACCT}:role/acct-role`;
    const ok = await sts(creds(KEYS.bob)).send(
      new AssumeRoleCommand({ RoleArn: arn, RoleSessionName: 'bob' }),
    );
    assert.equal(ok.AssumedRoleUser?.Arn, `arn:aws:sts::${ACCT}:assumed-role/acct-role/bob`);
    const err = await rejectsWith(
      sts(creds(KEYS.carol)).send(
        new AssumeRoleCommand({ RoleArn: arn, RoleSessionName: 'carol' }),
      ),
      'AccessDenied',
    );
    assert.equal(err.$metadata?.httpStatusCode, 403);
    assert.equal(
      err.message,
      `User: arn:aws:iam::${ACCT}:user/carol is not authorized to perform: sts:AssumeRole on resource: ${arn}`,
    );
  });

  it('trust policy that does not name the caller \u2192 AccessDenied; unknown role too; root refused', async () => {
    await rejectsWith(
      sts(creds(KEYS.alice)).send(
        new AssumeRoleCommand({
          RoleArn: `arn:aws:iam::${ACCT}:role/other`,
          RoleSessionName: 'x1',
        }),
      ),
      'AccessDenied',
    );
    await rejectsWith(
      sts(creds(KEYS.alice)).send(
        new AssumeRoleCommand({
          RoleArn: `arn:aws:iam::${ACCT}:role/missing`,
          RoleSessionName: 'x1',
        }),
      ),
      'AccessDenied',
    );
    const e = await rejectsWith(
      sts(root).send(
        new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${ACCT}:role/app`, RoleSessionName: 'r1' }),
      ),
      'AccessDenied',
    );
    assert.equal(e.message, 'Roles may not be assumed by root accounts.');
  });

  it('cross-account: trust names the other account and its user\u2019s identity policy allows', async () => {
    const out = await sts(creds(KEYS.eve)).send(
      new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${ACCT}:role/cross`, RoleSessionName: 'eve' }),
    );
    assert.equal(out.AssumedRoleUser?.Arn, `arn:aws:sts::${ACCT}:assumed-role/cross/eve`);
    await rejectsWith(
      sts(creds(KEYS.eve)).send(
        new AssumeRoleCommand({
          RoleArn: `arn:aws:iam::${ACCT}:role/acct-role`,
          RoleSessionName: 'eve',
        }),
      ),
      'AccessDenied',
    );
  });

  it('validation: session name, duration bounds and the role\u2019s MaxSessionDuration', async () => {
    const arn = `arn:aws:iam::${ACCT}:role/app`;
    const c = sts(creds(KEYS.alice));
    const e1 = await rejectsWith(
      c.send(new AssumeRoleCommand({ RoleArn: arn, RoleSessionName: 'a' })),
      'ValidationError',
    );
    assert.equal(e1.$metadata?.httpStatusCode, 400);
    await rejectsWith(
      c.send(new AssumeRoleCommand({ RoleArn: arn, RoleSessionName: 'bad name' })),
      'ValidationError',
    );
    await rejectsWith(
      c.send(new AssumeRoleCommand({ RoleArn: arn, RoleSessionName: 'ok', DurationSeconds: 899 })),
      'ValidationError',
    );
    const e2 = await rejectsWith(
      c.send(new AssumeRoleCommand({ RoleArn: arn, RoleSessionName: 'ok', DurationSeconds: 7201 })),
      'ValidationError',
    );
    assert.match(e2.message, /MaxSessionDuration/);
    const ok = await c.send(
      new AssumeRoleCommand({ RoleArn: arn, RoleSessionName: 'ok', DurationSeconds: 7200 }),
    );
    assert.ok(ok.Credentials !== undefined);
  });

  it('wrong or missing session token \u2192 refused; a long-term key with a token \u2192 refused', async () => {
    const out = await sts(creds(KEYS.alice)).send(
      new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${ACCT}:role/app`, RoleSessionName: 'tok' }),
    );
    const c = out.Credentials;
    const base = {
      accessKeyId: c?.AccessKeyId as string,
      secretAccessKey: c?.SecretAccessKey as string,
    };
    await rejectsWith(
      kms({ ...base, sessionToken: `${c?.SessionToken ?? ''}x` }).send(new ListKeysCommand({})),
      'UnrecognizedClientException',
    );
    await rejectsWith(kms(base).send(new ListKeysCommand({})), 'UnrecognizedClientException');
    const e = await rejectsWith(
      sts({ ...base, sessionToken: 'nope' }).send(new GetCallerIdentityCommand({})),
      'InvalidClientTokenId',
    );
    assert.equal(e.$metadata?.httpStatusCode, 403);
    await rejectsWith(
      kms({ ...creds(KEYS.alice), sessionToken: c?.SessionToken as string }).send(
        new ListKeysCommand({}),
      ),
      'UnrecognizedClientException',
    );
  });

  it('an expired session \u2192 ExpiredTokenException (KMS) / ExpiredToken (STS)', async () => {
    const out = await sts(creds(KEYS.alice)).send(
      new AssumeRoleCommand({
        RoleArn: `arn:aws:iam::${ACCT}:role/app`,
        RoleSessionName: 'exp',
        DurationSeconds: 900,
      }),
    );
    const c = out.Credentials;
    const temp: Creds = {
      accessKeyId: c?.AccessKeyId as string,
      secretAccessKey: c?.SecretAccessKey as string,
      sessionToken: c?.SessionToken as string,
    };
    await assertAuthenticates(kms(temp).send(new ListKeysCommand({})));
    server.clock.advance(901_000);
    try {
      const e = await rejectsWith(kms(temp).send(new ListKeysCommand({})), 'ExpiredTokenException');
      assert.equal(e.message, 'The security token included in the request is expired');
      await rejectsWith(sts(temp).send(new GetCallerIdentityCommand({})), 'ExpiredToken');
    } finally {
      server.clock.advance(-901_000);
    }
  });

  it('a KMS-scoped signature is refused by STS and vice versa (scope check per service)', async () => {
    const res = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'Action=GetCallerIdentity&Version=2011-06-15',
    });
    assert.equal(res.status, 403);
    const text = await res.text();
    assert.match(text, /<Code>MissingAuthenticationToken<\/Code>/);
    assert.match(text, /<Type>Sender<\/Type>/);
  });

  it('AWS CLI v2: aws sts assume-role, then aws kms list-keys with the temporary credentials', async () => {
    assert.ok(existsSync(AWS), `${AWS} is missing: install awscli`);
    const env = (c: Creds): NodeJS.ProcessEnv => ({
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      HOME: tmp,
      AWS_ACCESS_KEY_ID: c.accessKeyId,
      AWS_SECRET_ACCESS_KEY: c.secretAccessKey,
      ...(c.sessionToken !== undefined ? { AWS_SESSION_TOKEN: c.sessionToken } : {}),
      AWS_DEFAULT_REGION: TEST_REGION,
      AWS_PAGER: '',
      AWS_CONFIG_FILE: '/dev/null',
      AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_MAX_ATTEMPTS: '1',
    });
    const run = (args: string[], c: Creds) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(
          AWS,
          [...args, '--endpoint-url', server.url, '--output', 'json'],
          { env: env(c), timeout: 30_000 },
          (err, stdout, stderr) =>
            resolve({
              code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1,
              stdout,
              stderr,
            }),
        );
      });
    const r = await run(
      [
        'sts',
        'assume-role',
        '--role-arn',
        `arn:aws:iam::${ACCT}:role/app`,
        '--role-session-name',
        'cli',
      ],
      creds(KEYS.alice),
    );
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as {
      Credentials: {
        AccessKeyId: string;
        SecretAccessKey: string;
        SessionToken: string;
        Expiration: string;
      };
      AssumedRoleUser: { Arn: string };
    };
    assert.equal(out.AssumedRoleUser.Arn, `arn:aws:sts::${ACCT}:assumed-role/app/cli`);
    assert.match(out.Credentials.Expiration, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/);
    const temp: Creds = {
      accessKeyId: out.Credentials.AccessKeyId,
      secretAccessKey: out.Credentials.SecretAccessKey,
      sessionToken: out.Credentials.SessionToken,
    };
    const who = await run(['sts', 'get-caller-identity'], temp);
    assert.equal(who.code, 0, who.stderr);
    assert.equal(
      (JSON.parse(who.stdout) as { Arn: string }).Arn,
      `arn:aws:sts::${ACCT}:assumed-role/app/cli`,
    );
    const keys = await run(['kms', 'list-keys'], temp);
    // Authentication must succeed; whether the call is allowed depends on the policies.
    assert.doesNotMatch(
      keys.stderr,
      /UnrecognizedClient|InvalidSignature|ExpiredToken|IncompleteSignature/,
    );
    if (keys.code !== 0) assert.match(keys.stderr, /AccessDenied/);
    const denied = await run(
      [
        'sts',
        'assume-role',
        '--role-arn',
        `arn:aws:iam::${ACCT}:role/other`,
        '--role-session-name',
        'cli',
      ],
      creds(KEYS.alice),
    );
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /AccessDenied/);
  });

  it('a restart re-applies the seed idempotently (same unique ids, keys still valid)', async () => {
    const before1 = await sts(creds(KEYS.alice)).send(new GetCallerIdentityCommand({}));
    const dataDir = server.dataDir;
    await server.stop();
    server = await startTestServer({
      dataDir,
      env: { KEYHOLD_SEED_FILE: join(tmp, 'seed.json') },
    });
    const after1 = await sts(creds(KEYS.alice)).send(new GetCallerIdentityCommand({}));
    assert.equal(after1.UserId, before1.UserId);
    const bob = await sts(creds(KEYS.bob)).send(
      new AssumeRoleCommand({
        RoleArn: `arn:aws:iam::${ACCT}:role/acct-role`,
        RoleSessionName: 'again',
      }),
    );
    assert.ok(bob.Credentials !== undefined);
  });
});

async function rejectsWith(
  p: Promise<unknown>,
  name: string,
): Promise<Error & { $metadata?: { httpStatusCode?: number } }> {
  try {
    await p;
  } catch (err) {
    const e = err as Error & { name: string; Code?: string };
    assert.equal(e.name, name, `expected ${name}, got ${e.name}: ${e.message}`);
    return e;
  }
  throw new Error(`expected ${name}, but the call succeeded`);
}

/** The call authenticated: it succeeded, or failed for a reason other than authentication. */
async function assertAuthenticates(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (err) {
    const e = err as Error;
    assert.ok(!AUTH_ERRORS.has(e.name), `authentication failed: ${e.name}: ${e.message}`);
  }
}
