/**
 * What is cheap to zero is zeroed: the raw request body and the decoded Encrypt Plaintext
 * once the response is written, and a domain key another node dropped once this node
 * reloads its keyring. The KMS pipeline here is the real one (handleRead, KMS codec) behind a
 * node:http server of the test, over a real keyhold node's services; a pass-through in front
 * of the HSM only remembers which buffer it was given.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CreateKeyCommand, EncryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { pino } from 'pino';
import { AuditLog } from '../../src/audit/audit-log.js';
import { Authenticator } from '../../src/auth/authenticator.js';
import { loadConfig } from '../../src/config/config.js';
import type { Hsm } from '../../src/hsm/hsm.js';
import type { DomainKeyRepository } from '../../src/storage/repository.js';
import { SecretBytes } from '../../src/hsm/secret-bytes.js';
import { SoftwareHsm } from '../../src/hsm/software-hsm.js';
import { DomainKeys } from '../../src/kms/crypto/domain-keys.js';
import { readBody } from '../../src/protocol/request-body.js';
import { kmsCodec } from '../../src/server/pipeline/kms.js';
import { createApiPipeline } from '../../src/server/pipeline/pipeline.js';
import { SqliteStorage } from '../../src/storage/sqlite/sqlite-storage.js';
import { ThreadedAuditRepository } from '../../src/storage/sqlite/threaded-audit-repository.js';
import {
  startTestServer,
  TEST_ACCESS_KEY_ID,
  TEST_REGION,
  TEST_SECRET_ACCESS_KEY,
} from '../helpers/server.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const isZero = (b: Uint8Array) => b.every((x) => x === 0);

describe('zeroing', () => {
  it('the request body and the decoded Encrypt Plaintext are zeroed after the response', async () => {
    const s = await startTestServer();
    const dir = mkdtempSync(join(tmpdir(), 'keyhold-zero-'));
    dirs.push(dir);
    const seen: { body?: Buffer; plaintext?: Buffer } = {};
    const real = s.node.services.hsm;
    const hsm: Hsm = new Proxy(real, {
      get(target, prop, receiver) {
        if (prop === 'encrypt')
          return (key: Parameters<Hsm['encrypt']>[0], plaintext: Buffer, ctx: undefined) => {
            seen.plaintext = plaintext;
            return target.encrypt(key, plaintext, ctx);
          };
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const services = { ...s.node.services, hsm };
    const config = loadConfig({ port: 0, dataDir: s.dataDir }, { KEYHOLD_QUOTAS: 'off' });
    const authenticator = new Authenticator(
      services.storage,
      hsm,
      { regions: config.regions, maxSkewSeconds: 300, now: () => new Date() },
      services.storage.iam,
    );
    const auditRepo = new ThreadedAuditRepository(join(dir, 'audit.db'));
    const audit = await AuditLog.open(auditRepo, Buffer.alloc(32, 1), { maxBatch: 16 });
    const deps = { config, services, authenticator, audit, logger: pino({ level: 'silent' }) };
    const api = createApiPipeline(deps, {
      routes: [],
      fallback: kmsCodec({ services, quotas: null }),
    });
    const server: Server = createServer((req, res) => {
      void readBody(req).then((body) => {
        seen.body = body;
        return api.handleRead(req, res, body);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const client = new KMSClient({
      endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      region: TEST_REGION,
      credentials: { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY },
    });
    try {
      const key = await client.send(new CreateKeyCommand({}));
      const secret = Buffer.from('a secret that must not linger in memory');
      const enc = await client.send(
        new EncryptCommand({ KeyId: key.KeyMetadata?.KeyId, Plaintext: secret }),
      );
      assert.ok(enc.CiphertextBlob !== undefined && enc.CiphertextBlob.length > 0);
      assert.ok(seen.body !== undefined && seen.body.length > 0);
      assert.ok(isZero(seen.body), 'the raw body (base64 of the plaintext) is zeroed');
      assert.equal(seen.plaintext?.length, secret.length, 'the HSM got the decoded plaintext');
      assert.ok(isZero(seen.plaintext as Buffer), 'the decoded plaintext is zeroed');
    } finally {
      client.destroy();
      await new Promise((r) => server.close(r));
      await audit.close();
      await auditRepo.close();
      await s.stop();
    }
  });

  it('a domain key dropped by another node is zeroed on reload; one rotated meanwhile is kept', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keyhold-zero-dk-'));
    dirs.push(dir);
    const path = join(dir, 'keyhold.db');
    const wrap = new SecretBytes(Buffer.alloc(32, 2));
    const a = new SqliteStorage(path);
    const b = new SqliteStorage(path);
    try {
      // Node A's storage answers the list slowly, so a rotation can land while it is read.
      let slow = false;
      const repoA: DomainKeyRepository = {
        listDomainKeys: async () => {
          const r = await a.listDomainKeys();
          if (slow) await new Promise((res) => setTimeout(res, 50));
          return r;
        },
        addActiveDomainKey: (k) => a.addActiveDomainKey(k),
        deleteDomainKey: (id) => a.deleteDomainKey(id),
      };
      const seal = new SecretBytes(Buffer.alloc(32, 3));
      const hsmA = new SoftwareHsm(wrap, seal);
      const nodeA = await DomainKeys.open(repoA, hsmA, new Date());
      const oldId = nodeA.status().activeId as string;
      const hsmB = new SoftwareHsm(wrap, seal);
      const nodeB = await DomainKeys.open(b, hsmB, new Date());
      await nodeB.rotate(new Date());
      await nodeB.drop(oldId); // the rewrap job on node B is done with it
      // The keys never leave the HSM: watch what gets zeroed while node A reloads.
      const zeroed: SecretBytes[] = [];
      const zeroize = Object.getOwnPropertyDescriptor(SecretBytes.prototype, 'zeroize')?.value as (
        this: SecretBytes,
      ) => void;
      SecretBytes.prototype.zeroize = function (this: SecretBytes) {
        zeroed.push(this);
        zeroize.call(this);
      };
      try {
        await nodeA.reload();
      } finally {
        SecretBytes.prototype.zeroize = zeroize;
      }
      assert.equal(hsmA.hasDomainKey(oldId), false);
      assert.equal(zeroed.length, 1, 'one key zeroed: the dropped domain key');
      assert.equal(zeroed[0]?.length, 32);
      assert.throws(() => zeroed[0]?.bytes, /zeroized/, 'node A no longer holds the dropped key');
      assert.equal(nodeA.status().activeId, nodeB.status().activeId);
      // A rotation on this node while the list is being read survives the reload.
      slow = true;
      const reloading = nodeA.reload();
      const mine = await nodeA.rotate(new Date());
      await reloading;
      assert.equal(nodeA.status().activeId, mine);
      assert.ok(hsmA.hasDomainKey(mine));
    } finally {
      await a.close();
      await b.close();
    }
  });
});
