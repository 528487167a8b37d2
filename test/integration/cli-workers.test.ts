/**
 * `keyhold serve --workers 2` on one SQLite data dir, as a user runs it: both workers serve
 * the port; a change made through one worker (DisableKey, PutKeyPolicy, RevokeGrant, a
 * deleted access key, aliases, tags) holds on the very next request to the other, with no
 * TTL to wait out; each worker keeps its own audit chain and `audit verify` checks them all
 * and finds tampering in any; a worker killed with SIGKILL is restarted; SIGTERM drains
 * every worker and exits 0; a restart with another worker count keeps verifying.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { constants, createPublicKey, publicEncrypt, randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CreateAliasCommand,
  CreateGrantCommand,
  CreateKeyCommand,
  DeleteAliasCommand,
  DeleteImportedKeyMaterialCommand,
  GetParametersForImportCommand,
  ImportKeyMaterialCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  EncryptCommand,
  ListResourceTagsCommand,
  PutKeyPolicyCommand,
  RevokeGrantCommand,
  TagResourceCommand,
  UpdateAliasCommand,
  type KMSClient,
} from '@aws-sdk/client-kms';
import Database from '../../src/storage/sqlite/driver.js';
import { TEST_ACCOUNT_ID } from '../helpers/server.js';
import {
  MAIN,
  pinned,
  serveWorkers,
  servedBy,
  type Pinned,
  type Served,
} from '../helpers/workers.js';

const ACCT = TEST_ACCOUNT_ID;
const ROOT_ARN = `arn:aws:iam::${ACCT}:root`;

function verify(dataDir: string) {
  return spawnSync(process.execPath, [MAIN, 'audit', 'verify', '--data-dir', dataDir], {
    encoding: 'utf8',
  });
}

async function rejectsWith(p: Promise<unknown>, name: string): Promise<void> {
  await assert.rejects(p, (err: Error) => {
    assert.equal(err.name, name, err.message);
    return true;
  });
}

const encrypt = (kms: KMSClient, keyId: string) =>
  kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x') }));

function policy(extra: object[] = []): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'root',
        Effect: 'Allow',
        Principal: { AWS: ROOT_ARN },
        Action: 'kms:*',
        Resource: '*',
      },
      ...extra,
    ],
  });
}

describe('keyhold serve --workers 2 (SQLite)', () => {
  let dataDir: string;
  let served: Served;
  /** Pinned to worker 1 and to worker 2. */
  let a: Pinned;
  let b: Pinned;
  const spare: Pinned[] = [];
  let n = 0;

  const newUser = async () => {
    const user = (await a.admin('CreateUser', { AccountId: ACCT, UserName: `w${++n}` })).User as {
      Arn: string;
    };
    const key = (await a.admin('CreateAccessKey', { UserArn: user.Arn })).AccessKey as {
      AccessKeyId: string;
      SecretAccessKey: string;
    };
    return {
      arn: user.Arn,
      creds: { accessKeyId: key.AccessKeyId, secretAccessKey: key.SecretAccessKey },
    };
  };

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'keyhold-workers-'));
    served = await serveWorkers(dataDir, ['--workers', '2']);
    // Connections are handed out round-robin: open them until each worker holds one.
    const byWorker = new Map<number, Pinned>();
    for (let i = 0; i < 8 && byWorker.size < 2; i++) {
      const p = pinned(served.url);
      const w = await servedBy(dataDir, 2, () => p.kms().send(new CreateKeyCommand({})));
      if (byWorker.has(w)) spare.push(p);
      else byWorker.set(w, p);
    }
    assert.equal(byWorker.size, 2, 'both workers accepted connections');
    a = byWorker.get(1) as Pinned;
    b = byWorker.get(2) as Pinned;
  });

  after(async () => {
    for (const p of [a, b, ...spare]) p?.destroy();
    if (served.child.exitCode === null) await served.stop('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('announces two workers, each its own process, and both serve requests', async () => {
    assert.match(served.output(), /2 workers \(pids \d+, \d+\)/);
    assert.equal(served.pids.length, 2);
    assert.notEqual(served.pids[0], served.pids[1]);
    for (const pid of served.pids) process.kill(pid, 0); // alive
    // The pinned connections stay on their worker.
    const key = (await a.kms().send(new CreateKeyCommand({}))).KeyMetadata?.KeyId as string;
    assert.equal(await servedBy(dataDir, 2, () => encrypt(b.kms(), key)), 2);
    assert.equal(await servedBy(dataDir, 2, () => encrypt(a.kms(), key)), 1);
  });

  it('DisableKey on worker 1 holds on the next request to worker 2 (no cache TTL)', async () => {
    const key = (await a.kms().send(new CreateKeyCommand({}))).KeyMetadata?.KeyId as string;
    await encrypt(b.kms(), key); // worker 2 caches the key record
    await a.kms().send(new DisableKeyCommand({ KeyId: key }));
    await rejectsWith(encrypt(b.kms(), key), 'DisabledException');
    await a.kms().send(new EnableKeyCommand({ KeyId: key }));
    await encrypt(b.kms(), key);
  });

  it('PutKeyPolicy on worker 1 takes a permission away on worker 2 at once', async () => {
    const u = await newUser();
    const allowUser = {
      Effect: 'Allow',
      Principal: { AWS: u.arn },
      Action: 'kms:Encrypt',
      Resource: '*',
    };
    const key = (await a.kms().send(new CreateKeyCommand({ Policy: policy([allowUser]) })))
      .KeyMetadata?.KeyId as string;
    const asUser = b.kms(u.creds);
    await encrypt(asUser, key); // worker 2 caches key, policy and decision
    await a
      .kms()
      .send(new PutKeyPolicyCommand({ KeyId: key, PolicyName: 'default', Policy: policy() }));
    await rejectsWith(encrypt(asUser, key), 'AccessDeniedException');
  });

  it('RevokeGrant on worker 1 ends the grant on worker 2 at once', async () => {
    const u = await newUser();
    const key = (await a.kms().send(new CreateKeyCommand({}))).KeyMetadata?.KeyId as string;
    const asUser = b.kms(u.creds);
    await rejectsWith(encrypt(asUser, key), 'AccessDeniedException');
    const grant = await a
      .kms()
      .send(
        new CreateGrantCommand({ KeyId: key, GranteePrincipal: u.arn, Operations: ['Encrypt'] }),
      );
    await encrypt(asUser, key);
    await a.kms().send(new RevokeGrantCommand({ KeyId: key, GrantId: grant.GrantId }));
    await rejectsWith(encrypt(asUser, key), 'AccessDeniedException');
  });

  it('an access key deleted through worker 1 is refused by worker 2 on its next request', async () => {
    const u = await newUser();
    const key = (
      await a.kms().send(
        new CreateKeyCommand({
          Policy: policy([
            { Effect: 'Allow', Principal: { AWS: u.arn }, Action: 'kms:Encrypt', Resource: '*' },
          ]),
        }),
      )
    ).KeyMetadata?.KeyId as string;
    const asUser = b.kms(u.creds);
    await encrypt(asUser, key); // worker 2 caches the credential
    await a.admin('DeleteAccessKey', { UserArn: u.arn, AccessKeyId: u.creds.accessKeyId });
    await rejectsWith(encrypt(asUser, key), 'UnrecognizedClientException');
  });

  it('DeleteImportedMaterial on worker 1 makes the key unusable on worker 2 at once', async () => {
    const kms = a.kms();
    const key = (await kms.send(new CreateKeyCommand({ Origin: 'EXTERNAL' }))).KeyMetadata
      ?.KeyId as string;
    const params = await kms.send(
      new GetParametersForImportCommand({
        KeyId: key,
        WrappingAlgorithm: 'RSAES_OAEP_SHA_256',
        WrappingKeySpec: 'RSA_2048',
      }),
    );
    const wrapping = createPublicKey({
      key: Buffer.from(params.PublicKey as Uint8Array),
      format: 'der',
      type: 'spki',
    });
    const material = randomBytes(32);
    await kms.send(
      new ImportKeyMaterialCommand({
        KeyId: key,
        ImportToken: params.ImportToken,
        EncryptedKeyMaterial: publicEncrypt(
          { key: wrapping, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
          material,
        ),
        ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE',
      }),
    );
    material.fill(0);
    await encrypt(b.kms(), key); // worker 2 caches the key record and its version
    await kms.send(new DeleteImportedKeyMaterialCommand({ KeyId: key }));
    await rejectsWith(encrypt(b.kms(), key), 'KMSInvalidStateException');
  });

  it('aliases and tags changed on worker 1 are what worker 2 sees next', async () => {
    const k1 = (await a.kms().send(new CreateKeyCommand({}))).KeyMetadata?.KeyId as string;
    const k2 = (await a.kms().send(new CreateKeyCommand({}))).KeyMetadata?.KeyId as string;
    const alias = `alias/workers-${Date.now()}`;
    await a.kms().send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: k1 }));
    const seen = await b.kms().send(new DescribeKeyCommand({ KeyId: alias }));
    assert.equal(seen.KeyMetadata?.KeyId, k1);
    await a.kms().send(new UpdateAliasCommand({ AliasName: alias, TargetKeyId: k2 }));
    const moved = await b.kms().send(new DescribeKeyCommand({ KeyId: alias }));
    assert.equal(moved.KeyMetadata?.KeyId, k2);
    await a.kms().send(new DeleteAliasCommand({ AliasName: alias }));
    await rejectsWith(encrypt(b.kms(), alias), 'NotFoundException');
    await a
      .kms()
      .send(new TagResourceCommand({ KeyId: k1, Tags: [{ TagKey: 'team', TagValue: 'blue' }] }));
    const tags = await b.kms().send(new ListResourceTagsCommand({ KeyId: k1 }));
    assert.deepEqual(tags.Tags, [{ TagKey: 'team', TagValue: 'blue' }]);
  });

  it("the metrics listener serves the sum of both workers' registries", async () => {
    assert.ok(served.metricsUrl !== undefined, served.output());
    const encrypts = async () => {
      const text = await (await fetch(served.metricsUrl as string)).text();
      let n = 0;
      for (const line of text.split('\n')) {
        const m = /^keyhold_kms_request_duration_seconds_count\{([^}]*)\} (\d+)/.exec(line);
        if (m !== null && /operation="Encrypt"/.test(m[1] as string)) n += Number(m[2]);
      }
      return n;
    };
    const key = (await a.kms().send(new CreateKeyCommand({}))).KeyMetadata?.KeyId as string;
    const before = await encrypts();
    await encrypt(a.kms(), key);
    await encrypt(b.kms(), key);
    assert.equal(await encrypts(), before + 2);
  });

  it('a worker killed with SIGKILL is restarted and serves again; its chain continues', async () => {
    const victim = served.pids[1] as number;
    const seen = served.output().length;
    process.kill(victim, 'SIGKILL');
    const m = await served.waitFor(/worker 2 restarted \(pid (\d+)\)/);
    assert.ok(served.output().length > seen);
    const pid = Number(m[1]);
    assert.notEqual(pid, victim);
    served.pids[1] = pid;
    process.kill(pid, 0);
    assert.match(served.output(), new RegExp(`worker 2 \\(pid ${victim}\\) exited \\(SIGKILL\\)`));
    // Fresh connections reach both workers again (round-robin), and both answer.
    const key = (await a.kms().send(new CreateKeyCommand({}))).KeyMetadata?.KeyId as string;
    const workers = new Set<number>();
    for (let i = 0; i < 6 && workers.size < 2; i++) {
      const p = pinned(served.url);
      spare.push(p);
      workers.add(await servedBy(dataDir, 2, () => encrypt(p.kms(), key)));
    }
    assert.deepEqual([...workers].sort(), [1, 2]);
  });

  it('SIGTERM drains every worker and exits 0; audit verify checks both chains', async () => {
    const pids = [...served.pids];
    assert.equal(await served.stop('SIGTERM'), 0);
    for (const pid of pids) assert.throws(() => process.kill(pid, 0), /ESRCH/);
    assert.match(served.output(), /SIGTERM: finishing in-flight requests/);
    const r = verify(dataDir);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^chain local: /m);
    assert.match(r.stdout, /^chain local-w2: /m);
  });

  it("audit tail and query read both workers' chains merged by time; --chain reads one", () => {
    const cli = (args: string[]) =>
      spawnSync(process.execPath, [MAIN, 'audit', ...args, '--data-dir', dataDir], {
        encoding: 'utf8',
      });
    const ids = (out: string) =>
      out
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { eventID: string; eventTime: string });
    const all = cli(['tail', '-n', '100000']);
    assert.equal(all.status, 0, all.stderr);
    const one = cli(['tail', '-n', '100000', '--chain', 'local']);
    const two = cli(['tail', '-n', '100000', '--chain', 'local-w2']);
    assert.equal(one.status, 0, one.stderr);
    assert.equal(two.status, 0, two.stderr);
    const merged = ids(all.stdout);
    const first = ids(one.stdout);
    const second = ids(two.stdout);
    assert.ok(first.length > 0 && second.length > 0);
    assert.equal(merged.length, first.length + second.length);
    assert.deepEqual(
      new Set(merged.map((e) => e.eventID)),
      new Set([...first, ...second].map((e) => e.eventID)),
    );
    const times = merged.map((e) => e.eventTime);
    assert.deepEqual(times, [...times].sort(), 'merged in time order');
    // tail -n 3 is the newest three of the node, whichever worker recorded them.
    const last3 = ids(cli(['tail', '-n', '3']).stdout);
    assert.deepEqual(last3, merged.slice(-3));
    const q = cli(['query', '--event', 'Encrypt', '--limit', '100000']);
    assert.equal(q.status, 0, q.stderr);
    const encrypts = ids(q.stdout).length;
    const perChain = ['local', 'local-w2'].map(
      (c) =>
        ids(cli(['query', '--event', 'Encrypt', '--limit', '100000', '--chain', c]).stdout).length,
    );
    assert.ok((perChain[0] as number) > 0 && (perChain[1] as number) > 0, String(perChain));
    assert.equal(encrypts, (perChain[0] as number) + (perChain[1] as number));
    const bad = cli(['tail', '--chain', 'local-w9']);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /no audit chain 'local-w9' \(chains: local, local-w2\)/);
  });

  it('audit verify finds tampering in the second chain (exit 1), the first left intact', async () => {
    const copy = mkdtempSync(join(tmpdir(), 'keyhold-workers-tamper-'));
    try {
      cpSync(dataDir, copy, { recursive: true });
      const db = new Database(join(copy, 'audit-w2.db'));
      db.prepare("UPDATE audit_events SET body = body || ' ' WHERE seq = 2").run();
      db.close();
      const r = verify(copy);
      assert.equal(r.status, 1, r.stdout + r.stderr);
      assert.match(r.stdout + r.stderr, /chain local-w2: [^]*seq 2/);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });

  it('restarted with --workers 1 it serves, writes only the first chain, and both still verify', async () => {
    const again = await serveWorkers(dataDir, ['--workers', '1']);
    try {
      assert.match(again.output(), /1 worker \(pid \d+;/);
      const p = pinned(again.url);
      spare.push(p);
      const key = (await p.kms().send(new CreateKeyCommand({}))).KeyMetadata?.KeyId as string;
      assert.equal(await servedBy(dataDir, 2, () => encrypt(p.kms(), key)), 1);
    } finally {
      assert.equal(await again.stop('SIGTERM'), 0);
    }
    const r = verify(dataDir);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^chain local-w2: /m);
  });
});
