import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkKeyState, KEY_STATE_RULES } from '../../src/kms/keys/key-state.js';
import { OPERATIONS } from '../../src/kms/registry.js';
import { KmsError } from '../../src/errors/aws-errors.js';
import type { KeyRecord, KeyState } from '../../src/storage/repository.js';

const ARN = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const key = (keyState: KeyState) => ({ arn: ARN, keyState }) as KeyRecord;

/** The devguide's key-state table (key-state.md) for the operations of this build. */
const EXPECTED: Record<string, Partial<Record<KeyState, string>>> = {
  Encrypt: {
    Disabled: 'DisabledException: is disabled.',
    PendingDeletion: 'KMSInvalidStateException: is pending deletion.',
    PendingImport: 'KMSInvalidStateException: is pending import.',
    Unavailable: 'KMSInvalidStateException: is unavailable.',
    Creating: 'KMSInvalidStateException: is creating.',
  },
  CancelKeyDeletion: {
    Enabled: 'KMSInvalidStateException: is not pending deletion.',
    Disabled: 'KMSInvalidStateException: is not pending deletion.',
    PendingImport: 'KMSInvalidStateException: is not pending deletion.',
    Unavailable: 'KMSInvalidStateException: is not pending deletion.',
    Creating: 'KMSInvalidStateException: is not pending deletion.',
    Updating: 'KMSInvalidStateException: is not pending deletion.',
  },
  CreateAlias: { PendingDeletion: 'KMSInvalidStateException: is pending deletion.' },
  DescribeKey: {},
  DeleteAlias: {},
  DisableKey: {
    PendingDeletion: 'KMSInvalidStateException: is pending deletion.',
    PendingImport: 'KMSInvalidStateException: is pending import.',
    Creating: 'KMSInvalidStateException: is creating.',
    Updating: 'KMSInvalidStateException: is updating.',
  },
  ScheduleKeyDeletion: {
    PendingDeletion: 'KMSInvalidStateException: is pending deletion.',
    Updating: 'KMSInvalidStateException: is updating.',
  },
  TagResource: { PendingDeletion: 'KMSInvalidStateException: is pending deletion.' },
  ListResourceTags: {},
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

describe('key state × operation table', () => {
  for (const [op, failures] of Object.entries(EXPECTED)) {
    for (const state of STATES) {
      const want = failures[state];
      it(`${op} on a ${state} key: ${want ?? 'allowed'}`, () => {
        if (want === undefined) return assert.doesNotThrow(() => checkKeyState(op, key(state)));
        const [code, text] = want.split(': ');
        assert.throws(
          () => checkKeyState(op, key(state)),
          (e: unknown) =>
            e instanceof KmsError && e.code === code && e.message === `${ARN} ${text}`,
        );
      });
    }
  }

  it('has a row for every implemented key operation that checks state', () => {
    const accountLevel = new Set([
      'CreateKey',
      'ListKeys',
      'GenerateRandom',
      // Custom key store operations act on stores, not keys.
      'CreateCustomKeyStore',
      'ConnectCustomKeyStore',
      'DisconnectCustomKeyStore',
      'DescribeCustomKeyStores',
      'UpdateCustomKeyStore',
      'DeleteCustomKeyStore',
    ]);
    for (const name of OPERATIONS.keys()) {
      if (accountLevel.has(name)) continue;
      assert.ok(KEY_STATE_RULES[name] !== undefined, `missing key-state rule for ${name}`);
    }
  });
});
