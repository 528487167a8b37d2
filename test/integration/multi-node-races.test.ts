/**
 * Two nodes on one PostgreSQL racing on the same thing give AWS's answers: one alias
 * name, one named grant, one key state change at a time; background jobs run on one node;
 * a node with another root key is refused.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import {
  CreateAliasCommand,
  CreateGrantCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  ListGrantsCommand,
  ScheduleKeyDeletionCommand,
  type KMSClient,
} from '@aws-sdk/client-kms';
import { RootKeyMismatchError } from '../../src/hsm/domain-keys.js';
import { TEST_ACCOUNT_ID } from '../helpers/server.js';
import { startCluster, type Cluster } from '../helpers/multi-node.js';

const ROUNDS = 8;

type Outcome = { ok: true; value: unknown } | { ok: false; name: string };
const settle = async (p: Promise<unknown>): Promise<Outcome> =>
  p.then(
    (value) => ({ ok: true as const, value }),
    (err: Error) => ({ ok: false as const, name: err.name }),
  );

describe('multi-node: races between two nodes', () => {
  let cluster: Cluster;
  let A: KMSClient;
  let B: KMSClient;
  const newKey = async () => (await A.send(new CreateKeyCommand({}))).KeyMetadata?.KeyId as string;
  const state = async (keyId: string) =>
    (await A.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata?.KeyState;

  before(async () => {
    cluster = await startCluster(2);
    A = cluster.nodes[0]!.client;
    B = cluster.nodes[1]!.client;
  });
  after(async () => {
    await cluster?.stop();
  });

  it('CreateAlias with one name on both nodes at once: one succeeds, the other gets AlreadyExistsException', async () => {
    const [k1, k2] = [await newKey(), await newKey()];
    for (let i = 0; i < ROUNDS; i++) {
      const AliasName = `alias/race-${i}`;
      const out = await Promise.all([
        settle(A.send(new CreateAliasCommand({ AliasName, TargetKeyId: k1 }))),
        settle(B.send(new CreateAliasCommand({ AliasName, TargetKeyId: k2 }))),
      ]);
      assert.equal(out.filter((o) => o.ok).length, 1, `round ${i}: exactly one success`);
      const failed = out.find((o) => !o.ok) as { name: string };
      assert.equal(failed.name, 'AlreadyExistsException');
    }
  });

  it('CreateGrant with one Name on both nodes at once: one grant, the same GrantId for both', async () => {
    for (let i = 0; i < ROUNDS / 2; i++) {
      const keyId = await newKey();
      const input = {
        KeyId: keyId,
        Name: `race-${i}`,
        GranteePrincipal: `arn:aws:iam::${TEST_ACCOUNT_ID}:root`,
        Operations: ['Encrypt' as const],
      };
      const [a, b] = await Promise.all([
        A.send(new CreateGrantCommand(input)),
        B.send(new CreateGrantCommand(input)),
      ]);
      assert.equal(a.GrantId, b.GrantId, 'an identical named grant is one grant (idempotent)');
      const list = await A.send(new ListGrantsCommand({ KeyId: keyId }));
      assert.equal(list.Grants?.length, 1);
    }
  });

  it('ScheduleKeyDeletion on both nodes at once: one succeeds, the other gets KMSInvalidStateException', async () => {
    for (let i = 0; i < ROUNDS; i++) {
      const keyId = await newKey();
      const input = { KeyId: keyId, PendingWindowInDays: 7 };
      const out = await Promise.all([
        settle(A.send(new ScheduleKeyDeletionCommand(input))),
        settle(B.send(new ScheduleKeyDeletionCommand(input))),
      ]);
      assert.equal(out.filter((o) => o.ok).length, 1, `round ${i}: exactly one success`);
      assert.equal((out.find((o) => !o.ok) as { name: string }).name, 'KMSInvalidStateException');
      assert.equal(await state(keyId), 'PendingDeletion');
    }
  });

  it('ScheduleKeyDeletion on A vs EnableKey on B of a disabled key: the outcome is one serial order', async () => {
    for (let i = 0; i < ROUNDS; i++) {
      const keyId = await newKey();
      await A.send(new DisableKeyCommand({ KeyId: keyId }));
      const [sched, enable] = await Promise.all([
        settle(A.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 }))),
        settle(B.send(new EnableKeyCommand({ KeyId: keyId }))),
      ]);
      const final = await state(keyId);
      // Schedule then Enable: Enable is refused (KMSInvalidStateException), PendingDeletion.
      // Enable then Schedule: both succeed, PendingDeletion. Schedule can never be lost.
      assert.ok(sched.ok, `round ${i}: ScheduleKeyDeletion is allowed from Disabled and Enabled`);
      if (!enable.ok) assert.equal(enable.name, 'KMSInvalidStateException');
      assert.equal(final, 'PendingDeletion', `round ${i}`);
    }
  });

  it('background jobs run on exactly one node per tick, and a due deletion is done once', async () => {
    const [a, b] = [cluster.nodes[0]!, cluster.nodes[1]!];
    const keyId = await newKey();
    await A.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 }));
    for (const n of [a, b]) n.clock.advance(8 * 86_400_000);
    const ran = await Promise.all([a.node.runJobs(), b.node.runJobs()]);
    for (const n of [a, b]) n.clock.advance(-8 * 86_400_000); // SigV4 needs the real time again
    assert.equal(ran.filter(Boolean).length, 1, 'one node holds the job lease');
    assert.equal(await b.node.services.storage.getKey('us-east-1', keyId), undefined);
    await assert.rejects(
      B.send(new DescribeKeyCommand({ KeyId: keyId })),
      (e: Error) => e.name === 'NotFoundException',
    );
    const pgStore = a.node.services.storage as unknown as {
      leases: { info(n: string): Promise<{ owner: string; runs: number } | undefined> };
    };
    const lease = await pgStore.leases.info('background-jobs');
    const holder = ran[0] ? a.node.nodeId : b.node.nodeId;
    assert.equal(lease?.owner, holder);
    // Later ticks stay with the holder; the other node keeps out.
    const again = await Promise.all([a.node.runJobs(), b.node.runJobs()]);
    assert.deepEqual(again, ran);
  });

  it('a node with another root key is refused at start (RootKeyMismatchError, exit 1 from the CLI)', async () => {
    await assert.rejects(
      cluster.addNode({ KEYHOLD_ROOT_PASSPHRASE: 'a different passphrase' }),
      (err: Error) => err instanceof RootKeyMismatchError,
    );
    const dataDir = mkdtempSync(join(tmpdir(), 'keyhold-mismatch-'));
    try {
      const bin = join(process.cwd(), 'dist', 'src', 'cli', 'main.js');
      await assert.rejects(
        promisify(execFile)(
          process.execPath,
          [bin, 'serve', '--port', '0', '--data-dir', dataDir],
          {
            env: {
              ...process.env,
              KEYHOLD_STORAGE_URL: cluster.db.url,
              KEYHOLD_ROOT_PASSPHRASE: 'yet another passphrase',
              KEYHOLD_LOG_LEVEL: 'silent',
            },
          },
        ),
        (err: { code?: number; stderr?: string }) =>
          err.code === 1 &&
          /root key does not unwrap the stored domain keys/.test(err.stderr ?? '') &&
          !/\n\s+at /.test(err.stderr ?? ''),
      );
      // Without any root key (no passphrase, no key file) a node of an existing store is refused too.
      await assert.rejects(
        promisify(execFile)(
          process.execPath,
          [bin, 'serve', '--port', '0', '--data-dir', dataDir],
          {
            env: {
              ...process.env,
              KEYHOLD_STORAGE_URL: cluster.db.url,
              KEYHOLD_LOG_LEVEL: 'silent',
            },
          },
        ),
        (err: { code?: number; stderr?: string }) =>
          err.code === 1 && /copy root\.key from an existing node/.test(err.stderr ?? ''),
      );
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
