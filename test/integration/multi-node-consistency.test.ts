/**
 * Two keyhold nodes on one PostgreSQL database behave as one KMS, through the AWS SDK:
 * what one node writes, the other serves at once, and what one node revokes (key state,
 * grant, key policy, identity policy) the other stops allowing within the stated 1 s.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import {
  CreateGrantCommand,
  CreateKeyCommand,
  DecryptCommand,
  DisableKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  KMSClient,
  PutKeyPolicyCommand,
  RevokeGrantCommand,
} from '@aws-sdk/client-kms';
import pg from 'pg';
import { TEST_ACCOUNT_ID } from '../helpers/server.js';
import { CLUSTER_PASSPHRASE, startCluster, within, type Cluster } from '../helpers/multi-node.js';

const ACCT = TEST_ACCOUNT_ID;
const alice = ['AKIAMULTINODEALICE01', 'aliceMultiNodeSecret0123456789abcdefghij'] as const;
const dave = ['AKIAMULTINODEDAVE001', 'daveMultiNodeSecret0123456789abcdefghijk'] as const;
const BOUND_MS = 1000;

const denied = async (p: Promise<unknown>, name: string): Promise<boolean> => {
  try {
    await p;
    return false;
  } catch (err) {
    if ((err as Error).name !== name) throw err;
    return true;
  }
};

describe('multi-node: one KMS on one PostgreSQL', () => {
  let cluster: Cluster;
  let tmp: string;
  const clients: KMSClient[] = [];
  const as = (node: 0 | 1, who: readonly [string, string]) => {
    const c = cluster.nodes[node]!.clientWith(who[0], who[1]);
    clients.push(c);
    return c;
  };
  const A = () => cluster.nodes[0]!.client;
  const B = () => cluster.nodes[1]!.client;
  const newKey = async () =>
    (await A().send(new CreateKeyCommand({}))).KeyMetadata?.KeyId as string;

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'keyhold-multinode-'));
    writeFileSync(join(tmp, 'alice.secret'), alice[1]);
    writeFileSync(join(tmp, 'dave.secret'), dave[1]);
    const seed = {
      accounts: [
        {
          id: ACCT,
          users: [
            {
              name: 'alice',
              accessKeys: [{ accessKeyId: alice[0], secretAccessKeyFile: 'alice.secret' }],
              policies: {
                crypto: {
                  Version: '2012-10-17',
                  Statement: [{ Effect: 'Allow', Action: 'kms:Encrypt', Resource: '*' }],
                },
              },
            },
            {
              name: 'dave',
              accessKeys: [{ accessKeyId: dave[0], secretAccessKeyFile: 'dave.secret' }],
            },
          ],
        },
      ],
    };
    writeFileSync(join(tmp, 'seed.json'), JSON.stringify(seed));
    cluster = await startCluster(2, { seedFile: join(tmp, 'seed.json') });
  });

  after(async () => {
    for (const c of clients) c.destroy();
    await cluster?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('a key created through node A works through node B at once, both ways', async () => {
    const keyId = await newKey();
    const enc = await B().send(
      new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('from B') }),
    );
    const dec = await A().send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob }));
    assert.equal(Buffer.from(dec.Plaintext as Uint8Array).toString(), 'from B');
    const dk = await A().send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256' }));
    const back = await B().send(new DecryptCommand({ CiphertextBlob: dk.CiphertextBlob }));
    assert.deepEqual(Buffer.from(back.Plaintext as Uint8Array), Buffer.from(dk.Plaintext!));
  });

  it(`DisableKey on A: B refuses within ${BOUND_MS} ms`, async (t) => {
    const keyId = await newKey();
    // B has the key cached now.
    await B().send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x') }));
    await A().send(new DisableKeyCommand({ KeyId: keyId }));
    const ms = await within(BOUND_MS, () =>
      denied(
        B().send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x') })),
        'DisabledException',
      ),
    );
    assert.ok(ms < BOUND_MS);
    t.diagnostic(`B refused ${ms.toFixed(1)} ms after DisableKey returned on A`);
  });

  it(`PutKeyPolicy on A: B applies the new policy within ${BOUND_MS} ms`, async () => {
    const keyId = await newKey();
    await B().send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x') }));
    const root = `arn:aws:iam::${ACCT}:root`;
    const policy = {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: { AWS: root }, Action: 'kms:*', Resource: '*' },
        { Effect: 'Deny', Principal: { AWS: root }, Action: 'kms:Encrypt', Resource: '*' },
      ],
    };
    await A().send(
      new PutKeyPolicyCommand({
        KeyId: keyId,
        PolicyName: 'default',
        Policy: JSON.stringify(policy),
        BypassPolicyLockoutSafetyCheck: true,
      }),
    );
    await within(BOUND_MS, () =>
      denied(
        B().send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x') })),
        'AccessDeniedException',
      ),
    );
  });

  it(`RevokeGrant on A: the grantee is refused on B within ${BOUND_MS} ms`, async () => {
    const keyId = await newKey();
    const grant = await A().send(
      new CreateGrantCommand({
        KeyId: keyId,
        GranteePrincipal: `arn:aws:iam::${ACCT}:user/dave`,
        Operations: ['Encrypt'],
      }),
    );
    const daveOnB = as(1, dave);
    await daveOnB.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x') }));
    await A().send(new RevokeGrantCommand({ KeyId: keyId, GrantId: grant.GrantId }));
    await within(BOUND_MS, () =>
      denied(
        daveOnB.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x') })),
        'AccessDeniedException',
      ),
    );
  });

  it(`an identity policy removed on A stops working on B within ${BOUND_MS} ms`, async () => {
    const keyId = await newKey();
    const aliceOnB = as(1, alice);
    await aliceOnB.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x') }));
    const iamOnA = cluster.nodes[0]!.node.services.storage.iam;
    assert.equal(await iamOnA.deletePolicy(`arn:aws:iam::${ACCT}:user/alice`, 'crypto'), true);
    await within(BOUND_MS, () =>
      denied(
        aliceOnB.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x') })),
        'AccessDeniedException',
      ),
    );
  });

  it('a domain key rotated by A is used by B for keys A wraps under it', async () => {
    const a = cluster.nodes[0]!.node;
    const b = cluster.nodes[1]!.node;
    const before = b.jobs.domainKeys.status().activeId;
    const fresh = await a.jobs.domainKeys.rotate(new Date());
    const keyId = await newKey();
    const enc = await B().send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('dk') }));
    assert.ok(enc.CiphertextBlob);
    assert.notEqual(fresh, before);
    assert.equal(b.jobs.domainKeys.status().activeId, fresh, 'B loaded the new active domain key');
  });

  it('GET /health and /ready answer 200; /ready is 503 while PostgreSQL refuses, and recovers', async () => {
    const url = cluster.nodes[1]!.url;
    assert.equal((await fetch(`${url}/health`)).status, 200);
    const ready = await fetch(`${url}/ready`);
    assert.equal(ready.status, 200);
    const body = (await ready.json()) as { checks: Record<string, string> };
    assert.equal(body.checks.storage, 'ok');
    assert.equal(body.checks.migrations, 'ok');
    assert.equal(body.checks.audit, 'ok');
    const adminUrl = cluster.db.url.replace(`/${cluster.db.name}`, '/postgres');
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    try {
      await admin.query(`ALTER DATABASE ${cluster.db.name} ALLOW_CONNECTIONS false`);
      await admin.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
        [cluster.db.name],
      );
      await within(5000, async () => (await fetch(`${url}/ready`)).status === 503);
      assert.equal(
        (await fetch(`${url}/health`)).status,
        200,
        'liveness does not depend on storage',
      );
    } finally {
      await admin.query(`ALTER DATABASE ${cluster.db.name} ALLOW_CONNECTIONS true`);
      await admin.end();
    }
    // Both nodes come back by themselves, without a restart, listening for invalidations again.
    await within(5000, async () => {
      const r = await fetch(`${url}/ready`);
      const b = (await r.json()) as { checks: Record<string, string> };
      return r.status === 200 && b.checks.invalidation === 'listening';
    });
    const k = await newKey();
    await B().send(new EncryptCommand({ KeyId: k, Plaintext: Buffer.from('x') }));
    await A().send(new DisableKeyCommand({ KeyId: k }));
    await within(BOUND_MS, () =>
      denied(
        B().send(new EncryptCommand({ KeyId: k, Plaintext: Buffer.from('x') })),
        'DisabledException',
      ),
    );
    const keyId = await within(5000, async () => {
      try {
        await newKey();
        return true;
      } catch {
        return false;
      }
    });
    assert.ok(keyId >= 0);
  });

  it('keyhold audit verify checks every node chain in PostgreSQL', async () => {
    const bin = join(process.cwd(), 'dist', 'src', 'cli', 'main.js');
    const run = promisify(execFile);
    const env = {
      ...process.env,
      KEYHOLD_STORAGE_URL: cluster.db.url,
      KEYHOLD_ROOT_PASSPHRASE: CLUSTER_PASSPHRASE,
    };
    const { stdout } = await run(process.execPath, [bin, 'audit', 'verify', '--data-dir', tmp], {
      env,
    });
    assert.match(stdout, /chain node-a: audit log OK: \d+ events verified/);
    assert.match(stdout, /chain node-b: audit log OK: \d+ events verified/);
    // A changed event is found.
    const c = new pg.Client({ connectionString: cluster.db.url });
    await c.connect();
    await c.query(
      "UPDATE audit_events SET body = replace(body, 'Encrypt', 'Decrypt') WHERE chain_id = 'node-b' AND seq = (SELECT min(seq) FROM audit_events WHERE chain_id = 'node-b' AND event_name = 'Encrypt')",
    );
    await c.end();
    await assert.rejects(
      run(process.execPath, [bin, 'audit', 'verify', '--data-dir', tmp], { env }),
      (err: { code?: number; stdout?: string; stderr?: string }) =>
        err.code === 1 && /FAILED/.test(err.stderr ?? ''),
    );
  });
});
