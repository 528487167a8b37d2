/**
 * Rotation logic below the API: the key-state rows (devguide key-state.md), which keys can
 * rotate, the schedule arithmetic, the job (exactly once under racing runs), retries after
 * concurrent key updates, and the key cache seeing the new current version.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { checkKeyState } from '../../src/kms/keys/key-state.js';
import {
  checkRotationSupported,
  DAY_MS,
  nextRotationDate,
  rotateKeyMaterial,
  type RotationDeps,
} from '../../src/kms/material/rotate-material.js';
import { rotateDueKeys } from '../../src/kms/jobs/automatic-rotation.js';
import { KmsError } from '../../src/errors/aws-errors.js';
import { withKeyCache } from '../../src/storage/key-cache.js';
import type { KeyRecord, KeyState, Storage } from '../../src/storage/repository.js';
import { SqliteStorage } from '../../src/storage/sqlite/sqlite-storage.js';

const ARN = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const REGION = 'us-east-1';

function record(overrides: Partial<KeyRecord> = {}): KeyRecord {
  const keyId = randomUUID();
  return {
    region: REGION,
    keyId,
    accountId: '111122223333',
    arn: `arn:aws:kms:${REGION}:111122223333:key/${keyId}`,
    description: '',
    keyState: 'Enabled',
    keySpec: 'SYMMETRIC_DEFAULT',
    keyUsage: 'ENCRYPT_DECRYPT',
    origin: 'AWS_KMS',
    keyManager: 'CUSTOMER',
    multiRegion: false,
    policy: '{}',
    creationDate: new Date(),
    currentVersionId: randomBytes(32).toString('hex'),
    revision: 0,
    ...overrides,
  };
}

const isKms = (code: string, message?: string) => (e: unknown) =>
  e instanceof KmsError && e.code === code && (message === undefined || e.message === message);

describe('rotation key-state rows (devguide key-state.md)', () => {
  const key = (keyState: KeyState) => ({ arn: ARN, keyState }) as KeyRecord;
  const ROTATION = {
    Disabled: 'DisabledException: is disabled.',
    PendingDeletion: 'KMSInvalidStateException: is pending deletion.',
    PendingImport:
      'UnsupportedOperationException: origin is EXTERNAL which is not valid for this operation.',
    Unavailable:
      'UnsupportedOperationException: is in a custom key store, which does not support key rotation.',
    Creating: 'KMSInvalidStateException: is creating.',
  };
  const EXPECTED: Record<string, Partial<Record<KeyState, string>>> = {
    EnableKeyRotation: ROTATION,
    DisableKeyRotation: ROTATION,
    // A PendingImport key is EXTERNAL and symmetric here: it rotates to imported material.
    RotateKeyOnDemand: {
      ...ROTATION,
      PendingImport: 'KMSInvalidStateException: is pending import.',
    },
    GetKeyRotationStatus: {
      PendingImport: ROTATION.PendingImport,
      Unavailable: ROTATION.Unavailable,
    },
    ListKeyRotations: { Unavailable: ROTATION.Unavailable },
  };
  const STATES: KeyState[] = [
    'Enabled',
    'Disabled',
    'PendingDeletion',
    'PendingImport',
    'Unavailable',
    'Creating',
    'Updating',
  ];
  for (const [op, failures] of Object.entries(EXPECTED)) {
    for (const state of STATES) {
      const want = failures[state];
      it(`${op} on a ${state} key: ${want ?? 'allowed'}`, () => {
        if (want === undefined) return assert.doesNotThrow(() => checkKeyState(op, key(state)));
        const [code, text] = want.split(': ') as [string, string];
        assert.throws(() => checkKeyState(op, key(state)), isKms(code, `${ARN} ${text}`));
      });
    }
  }
});

describe('which keys rotate', () => {
  it('symmetric encryption keys of origin AWS_KMS: every rotation operation', () => {
    for (const op of [
      'EnableKeyRotation',
      'DisableKeyRotation',
      'GetKeyRotationStatus',
      'RotateKeyOnDemand',
      'ListKeyRotations',
    ] as const)
      assert.doesNotThrow(() => checkRotationSupported(record(), op));
  });

  it('asymmetric and HMAC keys: ListKeyRotations refused at once; the others after the key state', () => {
    for (const [keySpec, keyUsage] of [
      ['RSA_2048', 'SIGN_VERIFY'],
      ['ECC_NIST_P256', 'SIGN_VERIFY'],
      ['HMAC_256', 'GENERATE_VERIFY_MAC'],
    ]) {
      const k = record({ keySpec, keyUsage });
      assert.throws(
        () => checkRotationSupported(k, 'ListKeyRotations'),
        isKms('UnsupportedOperationException'),
      );
      // EnableKeyRotation / RotateKeyOnDemand refuse the spec after the key state, and
      // DisableKeyRotation accepts it (useRotationKey; test/integration/sdk-fidelity-messages.test.ts).
      for (const op of [
        'EnableKeyRotation',
        'DisableKeyRotation',
        'RotateKeyOnDemand',
        'GetKeyRotationStatus',
      ] as const)
        assert.doesNotThrow(() => checkRotationSupported(k, op));
    }
  });

  it('imported material and custom key stores: UnsupportedOperationException, before the key state', () => {
    const ext = record({ origin: 'EXTERNAL', keyState: 'Disabled' });
    assert.throws(
      () => checkRotationSupported(ext, 'EnableKeyRotation'),
      isKms(
        'UnsupportedOperationException',
        `${ext.arn} origin is EXTERNAL which is not valid for this operation.`,
      ),
    );
    assert.throws(
      () => checkRotationSupported(ext, 'GetKeyRotationStatus'),
      isKms('UnsupportedOperationException'),
    );
    // On demand, a symmetric EXTERNAL key rotates (to imported material); others do not.
    assert.doesNotThrow(() => checkRotationSupported(ext, 'RotateKeyOnDemand'));
    assert.throws(
      () =>
        checkRotationSupported(
          record({ origin: 'EXTERNAL', multiRegion: true }),
          'RotateKeyOnDemand',
        ),
      isKms('UnsupportedOperationException'),
    );
    assert.throws(
      () =>
        checkRotationSupported(
          record({ origin: 'EXTERNAL', keySpec: 'HMAC_256', keyUsage: 'GENERATE_VERIFY_MAC' }),
          'RotateKeyOnDemand',
        ),
      isKms('UnsupportedOperationException'),
    );
    for (const origin of ['AWS_CLOUDHSM', 'EXTERNAL_KEY_STORE'])
      assert.throws(
        () => checkRotationSupported(record({ origin }), 'RotateKeyOnDemand'),
        isKms('UnsupportedOperationException'),
      );
  });
});

describe('schedule arithmetic', () => {
  const now = new Date(1_800_000_000_000);
  it('enabling afresh: now + period', () => {
    assert.equal(nextRotationDate(undefined, 365, now).getTime(), now.getTime() + 365 * DAY_MS);
    const off = { region: REGION, keyId: 'k', enabled: false, rotationPeriodInDays: 90 };
    assert.equal(nextRotationDate(off, 100, now).getTime(), now.getTime() + 100 * DAY_MS);
  });
  it('changing the period of an enabled schedule keeps its anchor', () => {
    const anchor = now.getTime() - 10 * DAY_MS;
    const on = {
      region: REGION,
      keyId: 'k',
      enabled: true,
      rotationPeriodInDays: 90,
      nextRotationDate: new Date(anchor + 90 * DAY_MS),
    };
    assert.equal(nextRotationDate(on, 180, now).getTime(), anchor + 180 * DAY_MS);
    assert.equal(nextRotationDate(on, 90, now).getTime(), anchor + 90 * DAY_MS);
  });
});

async function store(): Promise<SqliteStorage> {
  return new SqliteStorage(join(mkdtempSync(join(tmpdir(), 'keyhold-rot-')), 'keyhold.db'));
}

/** An HSM stand-in: rotation only needs a wrapped backing key. */
const fakeHsm: RotationDeps['hsm'] = {
  createBackingKey: () => ({ domainKeyId: 'dk-1', ekt: randomBytes(60) }),
};

async function keyWithRotation(s: Storage, due: Date, periodDays = 90): Promise<KeyRecord> {
  const k = record();
  await s.createKey(
    k,
    {
      region: REGION,
      keyId: k.keyId,
      versionId: k.currentVersionId as string,
      domainKeyId: 'dk-1',
      ekt: randomBytes(60),
      createdAt: k.creationDate,
    },
    [],
  );
  await s.rotation.putRotationSettings({
    region: REGION,
    keyId: k.keyId,
    enabled: true,
    rotationPeriodInDays: periodDays,
    nextRotationDate: due,
  });
  return k;
}

describe('rotation job', () => {
  it('rotates each due key exactly once even when runs race', async () => {
    const s = await store();
    const due = new Date(1_800_000_000_000);
    const keys = [await keyWithRotation(s, due), await keyWithRotation(s, due)];
    const notDue = await keyWithRotation(s, new Date(due.getTime() + DAY_MS));
    const clock = { now: () => new Date(due.getTime() + 1000) };
    const counts = await Promise.all([
      rotateDueKeys({ storage: s, hsm: fakeHsm, clock }),
      rotateDueKeys({ storage: s, hsm: fakeHsm, clock }),
      rotateDueKeys({ storage: s, hsm: fakeHsm, clock }),
    ]);
    assert.equal(
      counts.reduce((a, b) => a + b, 0),
      2,
    );
    for (const k of keys) {
      const rotations = await s.rotation.listRotations(REGION, k.keyId);
      assert.equal(rotations.length, 1);
      assert.equal(rotations[0]?.rotationType, 'AUTOMATIC');
      assert.equal((await s.getKey(REGION, k.keyId))?.currentVersionId, rotations[0]?.versionId);
      assert.deepEqual(
        (await s.rotation.getRotationSettings(REGION, k.keyId))?.nextRotationDate,
        new Date(due.getTime() + 90 * DAY_MS),
      );
    }
    assert.deepEqual(await s.rotation.listRotations(REGION, notDue.keyId), []);
    assert.equal(await rotateDueKeys({ storage: s, hsm: fakeHsm, clock }), 0);
    await s.close();
  });

  it('a key far past its date rotates once, and is next due one period from now', async () => {
    const s = await store();
    const due = new Date(1_800_000_000_000);
    const k = await keyWithRotation(s, due);
    const now = new Date(due.getTime() + 400 * DAY_MS);
    assert.equal(await rotateDueKeys({ storage: s, hsm: fakeHsm, clock: { now: () => now } }), 1);
    assert.deepEqual(
      (await s.rotation.getRotationSettings(REGION, k.keyId))?.nextRotationDate,
      new Date(now.getTime() + 90 * DAY_MS),
    );
    await s.close();
  });

  it('through the key cache: the rotated key is read with its new current version', async () => {
    const inner = await store();
    const s = withKeyCache(inner, { keyTtlMs: 60_000, versionTtlMs: 60_000, maxEntries: 100 });
    const due = new Date(1_800_000_000_000);
    const k = await keyWithRotation(s, due);
    assert.equal((await s.getKey(REGION, k.keyId))?.currentVersionId, k.currentVersionId);
    const clock = { now: () => due };
    assert.equal(await rotateDueKeys({ storage: s, hsm: fakeHsm, clock }), 1);
    const [r] = await s.rotation.listRotations(REGION, k.keyId);
    assert.ok(r);
    assert.equal((await s.getKey(REGION, k.keyId))?.currentVersionId, r.versionId);
    assert.ok(await s.getKeyVersion(REGION, k.keyId, r.versionId));
    await inner.close();
  });
});

describe('rotateKeyMaterial', () => {
  it('retries after a concurrent key update, re-checking the fresh record', async () => {
    const s = await store();
    const k = await keyWithRotation(s, new Date(1_800_000_000_000));
    await s.updateKey({ ...k, description: 'changed meanwhile' });
    const seen: KeyRecord[] = [];
    const result = await rotateKeyMaterial({ storage: s, hsm: fakeHsm }, k, {
      type: 'ON_DEMAND',
      now: new Date(),
      maxOnDemand: 25,
      recheck: (fresh) => {
        seen.push(fresh);
        return true;
      },
    });
    assert.equal(seen.length, 1);
    assert.equal(result?.kind, 'rotated');
    const stored = await s.getKey(REGION, k.keyId);
    assert.equal(stored?.description, 'changed meanwhile');
    assert.equal(stored?.revision, 2);

    // A recheck that refuses (e.g. the key was disabled meanwhile) stops the rotation.
    await s.updateKey({ ...(stored as KeyRecord), keyState: 'Disabled' });
    await assert.rejects(
      rotateKeyMaterial({ storage: s, hsm: fakeHsm }, stored as KeyRecord, {
        type: 'ON_DEMAND',
        now: new Date(),
        recheck: (fresh) => {
          checkKeyState('RotateKeyOnDemand', fresh);
          return true;
        },
      }),
      isKms('DisabledException'),
    );
    assert.equal((await s.rotation.listRotations(REGION, k.keyId)).length, 1);
    await s.close();
  });
});
