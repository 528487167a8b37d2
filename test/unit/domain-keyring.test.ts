/**
 * The pure domain keyring (hsm/domain-keys.ts): loaded from wrapped records, a rotation
 * returns a wrapped record, drop forgets; nothing it returns or prints holds a plaintext
 * domain key. And kms/crypto/domain-keys.ts, which persists them (against an in-memory repository).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { describe, it } from 'node:test';
import { openGcm } from '../../src/hsm/aead.js';
import {
  DomainKeyring,
  RootKeyMismatchError,
  verifyDomainKeys,
} from '../../src/hsm/domain-keys.js';
import type { WrappedDomainKey } from '../../src/hsm/hsm.js';
import { SecretBytes } from '../../src/hsm/secret-bytes.js';
import { SoftwareHsm } from '../../src/hsm/software-hsm.js';
import { DomainKeys } from '../../src/kms/crypto/domain-keys.js';
import type { DomainKeyRecord, DomainKeyRepository } from '../../src/storage/repository.js';

const wrapKey = () => new SecretBytes(randomBytes(32));

/** What the plaintext of a wrapped record is (the test knows the AAD; callers never do). */
function plaintextOf(wrap: SecretBytes, r: WrappedDomainKey): Buffer {
  return openGcm(wrap.bytes, r.wrapped, Buffer.from(`keyhold/domain-key/v1/${r.id}`, 'utf8'));
}

/** Every Buffer reachable from a value (returned records, status objects). */
function buffersIn(value: unknown, out: Buffer[] = []): Buffer[] {
  if (Buffer.isBuffer(value)) out.push(value);
  else if (Array.isArray(value)) for (const v of value) buffersIn(v, out);
  else if (value !== null && typeof value === 'object')
    for (const v of Object.values(value)) buffersIn(v, out);
  return out;
}

function assertNoPlaintext(value: unknown, secrets: Buffer[], what: string): void {
  const text = `${inspect(value, { depth: 10 })}${JSON.stringify(value) ?? ''}`;
  for (const s of secrets) {
    for (const b of buffersIn(value)) assert.equal(b.indexOf(s), -1, `${what} holds a domain key`);
    assert.ok(!text.includes(s.toString('hex')), `${what} prints a domain key (hex)`);
    assert.ok(!text.includes(s.toString('base64')), `${what} prints a domain key (base64)`);
  }
}

class MemoryRepo implements DomainKeyRepository {
  rows: DomainKeyRecord[] = [];
  async listDomainKeys(): Promise<DomainKeyRecord[]> {
    return this.rows.map((r) => ({ ...r }));
  }
  async addActiveDomainKey(key: DomainKeyRecord): Promise<void> {
    this.rows = [...this.rows.map((r) => ({ ...r, active: false })), { ...key, active: true }];
  }
  async deleteDomainKey(id: string): Promise<void> {
    this.rows = this.rows.filter((r) => r.id !== id);
  }
}

describe('domain keyring (pure)', () => {
  it('rotate returns a wrapped record, usable only once loaded; load makes it active', () => {
    const wrap = wrapKey();
    const ring = new DomainKeyring(wrap);
    assert.deepEqual(ring.status(), { activeId: undefined, activeCreatedAt: undefined, ids: [] });
    const now = new Date('2026-01-02T03:04:05Z');
    const r = ring.rotate(now);
    assert.match(r.id, /^dk-[0-9a-f-]{36}$/);
    assert.equal(r.active, true);
    assert.equal(r.createdAt, now);
    assert.equal(plaintextOf(wrap, r).length, 32);
    // Pending: not active, not usable to seal until storage has it and it is loaded.
    assert.equal(ring.status().activeId, undefined);
    assert.equal(ring.has(r.id), false);
    assert.throws(() => ring.seal(Buffer.from('x'), () => Buffer.alloc(0)), /no active domain key/);
    ring.load([r]);
    assert.deepEqual(ring.status(), { activeId: r.id, activeCreatedAt: now, ids: [r.id] });
    const sealed = ring.seal(Buffer.from('hbk'), (id) => Buffer.from(id));
    assert.equal(sealed.domainKeyId, r.id);
    assert.equal(ring.open(r.id, sealed.sealed, Buffer.from(r.id)).toString(), 'hbk');
    assert.throws(() => ring.open(r.id, sealed.sealed, Buffer.from('other aad')));
  });

  it('load is the stored list: the active flag wins, unlisted keys are zeroed, listed ones kept', () => {
    const wrap = wrapKey();
    const ring = new DomainKeyring(wrap);
    const a = ring.rotate(new Date(1000));
    const b = ring.rotate(new Date(2000));
    ring.load([{ ...a, active: false }, b]);
    assert.equal(ring.status().activeId, b.id);
    const underA = ring.seal(Buffer.from('x'), () => Buffer.from('aad'));
    assert.equal(underA.domainKeyId, b.id);
    // Another node dropped a and made c active.
    const other = new DomainKeyring(wrap);
    const c = other.rotate(new Date(3000));
    const zeroed: SecretBytes[] = [];
    const zeroize = Object.getOwnPropertyDescriptor(SecretBytes.prototype, 'zeroize')?.value as (
      this: SecretBytes,
    ) => void;
    SecretBytes.prototype.zeroize = function (this: SecretBytes) {
      zeroed.push(this);
      zeroize.call(this);
    };
    try {
      ring.load([{ ...b, active: false }, c]);
    } finally {
      SecretBytes.prototype.zeroize = zeroize;
    }
    assert.equal(zeroed.length, 1, 'the unlisted key a is zeroed');
    assert.deepEqual(ring.status().ids.sort(), [b.id, c.id].sort());
    assert.equal(ring.status().activeId, c.id);
    assert.equal(ring.has(a.id), false);
    assert.throws(() => ring.open(a.id, Buffer.alloc(40), Buffer.alloc(0)), /not loaded/);
    // b is still there: what was sealed under it opens.
    assert.equal(ring.open(b.id, underA.sealed, Buffer.from('aad')).toString(), 'x');
  });

  it('a record the wrap key does not open is RootKeyMismatchError, and changes nothing', () => {
    const wrap = wrapKey();
    const ring = new DomainKeyring(wrap);
    const mine = ring.rotate(new Date());
    ring.load([mine]);
    const foreign = new DomainKeyring(wrapKey()).rotate(new Date());
    assert.throws(() => ring.load([{ ...mine, active: false }, foreign]), RootKeyMismatchError);
    assert.deepEqual(ring.status().ids, [mine.id]);
    assert.equal(ring.status().activeId, mine.id);
    // The id is part of the AAD: a record renamed does not open either.
    assert.throws(() => ring.load([{ ...mine, id: 'dk-renamed' }]), RootKeyMismatchError);
    // The offline check (root-key change-passphrase) says the same without a keyring.
    assert.equal(verifyDomainKeys([mine], wrap), 1);
    assert.throws(() => verifyDomainKeys([mine, foreign], wrap), RootKeyMismatchError);
  });

  it('drop forgets an old key and refuses the active one', () => {
    const ring = new DomainKeyring(wrapKey());
    const a = ring.rotate(new Date(1));
    const b = ring.rotate(new Date(2));
    ring.load([{ ...a, active: false }, b]);
    assert.throws(() => ring.drop(b.id), /active/);
    ring.drop(a.id);
    assert.deepEqual(ring.status().ids, [b.id]);
    ring.drop('dk-never-loaded');
  });

  it('never returns or prints a plaintext domain key', () => {
    const wrap = wrapKey();
    const ring = new DomainKeyring(wrap);
    const records = [ring.rotate(new Date(1)), ring.rotate(new Date(2))];
    const secrets = records.map((r) => plaintextOf(wrap, r));
    ring.load([{ ...records[0]!, active: false }, records[1]!]);
    assertNoPlaintext(records, secrets, 'rotate()');
    assertNoPlaintext(ring.status(), secrets, 'status()');
    assertNoPlaintext(ring, secrets, 'the keyring itself');
    const sealed = ring.seal(Buffer.alloc(32, 1), () => Buffer.from('aad'));
    assertNoPlaintext(sealed, secrets, 'seal()');
    // The same through the Hsm interface of the software HSM.
    const hsm = new SoftwareHsm(wrap, new SecretBytes(randomBytes(32)));
    const r = hsm.rotateDomainKey(new Date());
    hsm.loadDomainKeys([r]);
    const secret = [plaintextOf(wrap, r)];
    assertNoPlaintext(r, secret, 'hsm.rotateDomainKey()');
    assertNoPlaintext(hsm.domainKeyStatus(), secret, 'hsm.domainKeyStatus()');
    assertNoPlaintext(hsm, secret, 'the HSM');
    const ekt = hsm.createBackingKey({ keyArn: 'arn:k', versionId: 'v' });
    assertNoPlaintext(ekt, secret, 'an EKT');
  });
});

describe('domain keys at rest (kms/crypto/domain-keys.ts)', () => {
  it('open creates the first key on a new store, and loads the stored ones afterwards', async () => {
    const repo = new MemoryRepo();
    const wrap = wrapKey();
    const seal = wrapKey();
    const first = await DomainKeys.open(repo, new SoftwareHsm(wrap, seal), new Date(5));
    assert.equal(repo.rows.length, 1);
    assert.equal(first.status().activeId, repo.rows[0]?.id);
    const again = await DomainKeys.open(repo, new SoftwareHsm(wrap, seal), new Date(6));
    assert.equal(repo.rows.length, 1, 'no second key');
    assert.equal(again.status().activeId, repo.rows[0]?.id);
    await assert.rejects(
      DomainKeys.open(repo, new SoftwareHsm(wrapKey(), seal), new Date()),
      RootKeyMismatchError,
    );
  });

  it('rotate stores before the key is used; a failed store leaves the old key active', async () => {
    const repo = new MemoryRepo();
    const hsm = new SoftwareHsm(wrapKey(), wrapKey());
    const keys = await DomainKeys.open(repo, hsm, new Date(1));
    const old = keys.status().activeId;
    const add = repo.addActiveDomainKey.bind(repo);
    repo.addActiveDomainKey = async () => {
      throw new Error('storage down');
    };
    await assert.rejects(keys.rotate(new Date(2)), /storage down/);
    assert.equal(keys.status().activeId, old);
    assert.equal(hsm.createBackingKey({ keyArn: 'a', versionId: 'v' }).domainKeyId, old);
    repo.addActiveDomainKey = add;
    const fresh = await keys.rotate(new Date(3));
    assert.equal(keys.status().activeId, fresh);
    assert.equal(repo.rows.find((r) => r.active)?.id, fresh);
    await assert.rejects(keys.drop(fresh), /active/);
    await keys.drop(old as string);
    assert.deepEqual(
      repo.rows.map((r) => r.id),
      [fresh],
    );
    assert.deepEqual(keys.status().ids, [fresh]);
  });

  it('ensureLoaded reloads only for a domain key it does not hold', async () => {
    const repo = new MemoryRepo();
    const wrap = wrapKey();
    const seal = wrapKey();
    const a = await DomainKeys.open(repo, new SoftwareHsm(wrap, seal), new Date(1));
    const b = await DomainKeys.open(repo, new SoftwareHsm(wrap, seal), new Date(1));
    let lists = 0;
    const list = repo.listDomainKeys.bind(repo);
    repo.listDomainKeys = () => {
      lists++;
      return list();
    };
    await a.ensureLoaded([a.status().activeId as string]);
    assert.equal(lists, 0);
    const fresh = await b.rotate(new Date(2));
    lists = 0;
    await Promise.all([a.ensureLoaded([fresh]), a.ensureLoaded([fresh]), a.reload()]);
    assert.equal(lists, 1, 'concurrent reloads share one read');
    assert.equal(a.status().activeId, fresh);
  });
});
