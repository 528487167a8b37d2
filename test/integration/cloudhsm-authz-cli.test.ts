/**
 * Custom key stores: IAM-policy-only authorization (kms:CreateCustomKeyStore etc. are
 * account-level actions, never cross-account), the audit trail (no password in any event),
 * and the AWS CLI (`aws kms create-custom-key-store ...`).
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from '../../src/storage/sqlite/driver.js';
import {
  ConnectCustomKeyStoreCommand,
  CreateCustomKeyStoreCommand,
  DeleteCustomKeyStoreCommand,
  DescribeCustomKeyStoresCommand,
  DisconnectCustomKeyStoreCommand,
  KMSClient,
  UpdateCustomKeyStoreCommand,
} from '@aws-sdk/client-kms';
import {
  expectAwsError,
  startTestServer,
  TEST_ACCESS_KEY_ID,
  TEST_ACCOUNT_ID,
  TEST_REGION,
  TEST_SECRET_ACCESS_KEY,
  type TestServer,
} from '../helpers/server.js';
import { createSoftHsmToken, softHsmAvailable, type SoftHsmToken } from '../helpers/softhsm.js';

const skip = softHsmAvailable() ? false : 'SoftHSM2 is not installed (apt-get install softhsm2)';
const OTHER = '444455556666';
const ids = {
  admin: ['AKIACKSADMIN00000001', 'cksAdminSecret0123456789abcdefghijklmnop'],
  nobody: ['AKIACKSNOBODY0000001', 'cksNobodySecret0123456789abcdefghijklmno'],
  otherRoot: ['AKIACKSOTHERROOT0001', 'cksOtherRootSecret0123456789abcdefghijkl'],
} as const;
const CLUSTER = 'cluster-authzclibbbb';
const CLI_CLUSTER = 'cluster-clicliclicli';

/** The AWS CLI: Debian's v2 at /usr/bin/aws (CI), else whatever `aws` is on PATH. */
function awsCli(): string | undefined {
  if (existsSync('/usr/bin/aws')) return '/usr/bin/aws';
  for (const dir of (process.env['PATH'] ?? '').split(':'))
    if (dir !== '' && existsSync(join(dir, 'aws'))) return join(dir, 'aws');
  return undefined;
}

describe('custom key stores: authorization, audit, AWS CLI', { skip }, () => {
  let server: TestServer;
  let tmp: string;
  let pem: string;
  let token: SoftHsmToken;
  let cliToken: SoftHsmToken;
  let env: Record<string, string>;
  const clients: KMSClient[] = [];
  const as = (who: keyof typeof ids): KMSClient => {
    const [accessKeyId, secretAccessKey] = ids[who];
    const c = new KMSClient({
      endpoint: server.url,
      region: TEST_REGION,
      credentials: { accessKeyId, secretAccessKey },
      maxAttempts: 1,
    });
    clients.push(c);
    return c;
  };

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'keyhold-cks-authz-'));
    token = createSoftHsmToken();
    cliToken = createSoftHsmToken();
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-subj',
        '/CN=customerCA',
        '-days',
        '2',
        '-keyout',
        join(tmp, 'ca.key'),
        '-out',
        join(tmp, 'ca.crt'),
      ],
      { stdio: 'ignore' },
    );
    pem = readFileSync(join(tmp, 'ca.crt'), 'utf8');
    for (const [who, [, secret]] of Object.entries(ids))
      writeFileSync(join(tmp, `${who}.secret`), secret);
    const allow = (Action: string[]) => ({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action, Resource: '*' }],
    });
    const user = (name: 'admin' | 'nobody', policies?: Record<string, object>) => ({
      name,
      accessKeys: [{ accessKeyId: ids[name][0], secretAccessKeyFile: `${name}.secret` }],
      ...(policies ? { policies } : {}),
    });
    writeFileSync(
      join(tmp, 'seed.json'),
      JSON.stringify({
        accounts: [
          {
            id: TEST_ACCOUNT_ID,
            users: [
              user('admin', {
                cks: allow(['kms:CreateCustomKeyStore', 'kms:DescribeCustomKeyStores']),
              }),
              user('nobody'),
            ],
          },
          {
            id: OTHER,
            rootAccessKeys: [
              { accessKeyId: ids.otherRoot[0], secretAccessKeyFile: 'otherRoot.secret' },
            ],
          },
        ],
      }),
    );
    env = {
      KEYHOLD_SEED_FILE: join(tmp, 'seed.json'),
      KEYHOLD_CLOUDHSM_CLUSTERS: JSON.stringify({
        [CLUSTER]: { module: token.modulePath, tokens: [token.label] },
        [CLI_CLUSTER]: { module: cliToken.modulePath, tokens: [cliToken.label] },
      }),
    };
    server = await startTestServer({ dataDir: mkdtempSync(join(tmp, 'data-')), env });
  });
  after(async () => {
    for (const c of clients) c.destroy();
    await server?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  const create = (c: KMSClient, name: string) =>
    c.send(
      new CreateCustomKeyStoreCommand({
        CustomKeyStoreName: name,
        CloudHsmClusterId: CLUSTER,
        TrustAnchorCertificate: pem,
        KeyStorePassword: token.userPin,
      }),
    );

  let storeId: string;

  it('a user without kms:CreateCustomKeyStore is denied every custom key store action', async () => {
    const c = as('nobody');
    const e = await expectAwsError(create(c, 'denied'), 'AccessDeniedException');
    assert.match(e.message, /kms:CreateCustomKeyStore/);
    await expectAwsError(c.send(new DescribeCustomKeyStoresCommand({})), 'AccessDeniedException');
    await expectAwsError(
      c.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId: 'cks-00000000000000000' })),
      'AccessDeniedException',
    );
    await expectAwsError(
      c.send(new DeleteCustomKeyStoreCommand({ CustomKeyStoreId: 'cks-00000000000000000' })),
      'AccessDeniedException',
    );
  });

  it('an identity policy allowing exactly Create + Describe: those work, Connect/Update/Disconnect are denied', async () => {
    const c = as('admin');
    storeId = (await create(c, 'by-admin')).CustomKeyStoreId!;
    const d = await c.send(new DescribeCustomKeyStoresCommand({}));
    assert.deepEqual(
      d.CustomKeyStores!.map((s) => s.CustomKeyStoreId),
      [storeId],
    );
    await expectAwsError(
      c.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId: storeId })),
      'AccessDeniedException',
    );
    await expectAwsError(
      c.send(
        new UpdateCustomKeyStoreCommand({ CustomKeyStoreId: storeId, NewCustomKeyStoreName: 'x' }),
      ),
      'AccessDeniedException',
    );
    await expectAwsError(
      c.send(new DisconnectCustomKeyStoreCommand({ CustomKeyStoreId: storeId })),
      'AccessDeniedException',
    );
  });

  it('stores are per account: another account sees none and cannot name ours', async () => {
    const c = as('otherRoot');
    assert.deepEqual((await c.send(new DescribeCustomKeyStoresCommand({}))).CustomKeyStores, []);
    await expectAwsError(
      c.send(new DescribeCustomKeyStoresCommand({ CustomKeyStoreId: storeId })),
      'CustomKeyStoreNotFoundException',
    );
    await expectAwsError(
      c.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId: storeId })),
      'CustomKeyStoreNotFoundException',
    );
    // Its own store on the same cluster: the cluster is in use only within an account.
    const own = await c.send(
      new CreateCustomKeyStoreCommand({
        CustomKeyStoreName: 'by-admin',
        CloudHsmClusterId: CLUSTER,
        TrustAnchorCertificate: pem,
        KeyStorePassword: 'otherpass',
      }),
    );
    assert.notEqual(own.CustomKeyStoreId, storeId);
  });

  it('AWS CLI: create-custom-key-store, describe-custom-key-stores, connect, error exit code', async () => {
    const aws = awsCli();
    assert.ok(aws, 'the AWS CLI is not installed: .ci/run must install awscli');
    writeFileSync(join(tmp, 'customerCA.crt'), pem);
    const run = (args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
        execFile(
          aws,
          [...args, '--endpoint-url', server.url, '--output', 'json'],
          {
            env: {
              PATH: process.env['PATH'] ?? '/usr/bin:/bin',
              HOME: tmp,
              AWS_ACCESS_KEY_ID: TEST_ACCESS_KEY_ID,
              AWS_SECRET_ACCESS_KEY: TEST_SECRET_ACCESS_KEY,
              AWS_DEFAULT_REGION: TEST_REGION,
              AWS_PAGER: '',
              AWS_CONFIG_FILE: '/dev/null',
              AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
              AWS_EC2_METADATA_DISABLED: 'true',
              AWS_MAX_ATTEMPTS: '1',
            },
            timeout: 60_000,
          },
          (err, stdout, stderr) =>
            resolve({
              code: err === null ? 0 : Number(err.code),
              stdout: String(stdout),
              stderr: String(stderr),
            }),
        ),
      );
    const created = await run([
      'kms',
      'create-custom-key-store',
      '--custom-key-store-name',
      'from-cli',
      '--cloud-hsm-cluster-id',
      CLI_CLUSTER,
      '--trust-anchor-certificate',
      `file://${join(tmp, 'customerCA.crt')}`,
      '--key-store-password',
      cliToken.userPin,
    ]);
    assert.equal(created.code, 0, created.stderr);
    const id = (JSON.parse(created.stdout) as { CustomKeyStoreId: string }).CustomKeyStoreId;
    assert.match(id, /^cks-[0-9a-f]{17}$/);
    const described = await run([
      'kms',
      'describe-custom-key-stores',
      '--custom-key-store-name',
      'from-cli',
    ]);
    assert.equal(described.code, 0, described.stderr);
    const entry = (JSON.parse(described.stdout) as { CustomKeyStores: Record<string, unknown>[] })
      .CustomKeyStores[0]!;
    assert.equal(entry['CustomKeyStoreId'], id);
    assert.equal(entry['CloudHsmClusterId'], CLI_CLUSTER);
    assert.equal(entry['ConnectionState'], 'DISCONNECTED');
    assert.equal(entry['TrustAnchorCertificate'], pem);
    assert.equal(
      (await run(['kms', 'connect-custom-key-store', '--custom-key-store-id', id])).code,
      0,
    );
    const missing = await run([
      'kms',
      'delete-custom-key-store',
      '--custom-key-store-id',
      'cks-00000000000000000',
    ]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /CustomKeyStoreNotFoundException/);
    await server.node.services.customKeyStores!.settle();
  });

  it('audit: each operation is recorded with its CustomKeyStoreId; no password in any event', async () => {
    await server.stop();
    const db = new Database(join(server.dataDir, 'audit.db'), { readonly: true });
    const rows = db.prepare('SELECT event_name, body FROM audit_events').all() as {
      event_name: string;
      body: string;
    }[];
    db.close();
    server = await startTestServer({ dataDir: server.dataDir, env });
    const creates = rows.filter((r) => r.event_name === 'CreateCustomKeyStore');
    assert.ok(creates.length >= 3);
    const ok = creates.map(
      (r) =>
        JSON.parse(r.body) as {
          responseElements?: { customKeyStoreId?: string };
          errorCode?: string;
        },
    );
    assert.ok(ok.some((e) => e.responseElements?.customKeyStoreId === storeId));
    assert.ok(ok.some((e) => e.errorCode === 'AccessDeniedException'));
    assert.ok(rows.some((r) => r.event_name === 'DescribeCustomKeyStores'));
    assert.ok(rows.some((r) => r.event_name === 'ConnectCustomKeyStore'));
    for (const r of rows) {
      assert.ok(!r.body.includes(token.userPin), `${r.event_name} event holds a password`);
      assert.ok(!r.body.includes(cliToken.userPin), `${r.event_name} event holds a password`);
      assert.ok(!r.body.includes('otherpass'), `${r.event_name} event holds a password`);
    }
  });
});
