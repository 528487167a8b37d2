import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';

import { KmsError } from '../../src/errors/aws-errors.js';
import { KMS_MODEL, type ModelShape } from '../../src/protocol/model/kms-model.js';
import {
  OPERATION_NAMES,
  compileJavaPattern,
  isOperationName,
  parseInput,
} from '../../src/protocol/validate/index.js';

/** Run parseInput and return the KmsError it throws (fails if it does not throw one). */
function failure(op: string, body: unknown): KmsError {
  try {
    parseInput(op, body);
  } catch (err) {
    assert.ok(err instanceof KmsError, `expected KmsError, got ${String(err)}`);
    return err;
  }
  assert.fail(`${op} ${JSON.stringify(body)} was accepted`);
}

function validation(op: string, body: unknown): string {
  const err = failure(op, body);
  assert.equal(err.code, 'ValidationException', err.message);
  return err.message;
}

function serialization(op: string, body: unknown): string {
  const err = failure(op, body);
  assert.equal(err.code, 'SerializationException', err.message);
  return err.message;
}

const b64 = (bytes: number, fill = 1): string => Buffer.alloc(bytes, fill).toString('base64');

describe('OPERATION_NAMES', () => {
  it('lists the 54 model operations', () => {
    assert.equal(OPERATION_NAMES.length, 54);
    for (const op of ['Encrypt', 'Decrypt', 'CreateKey', 'GetKeyLastUsage', 'VerifyMac']) {
      assert.ok(OPERATION_NAMES.includes(op), op);
      assert.ok(isOperationName(op));
    }
    assert.equal(isOperationName('Nope'), false);
  });

  it('rejects an unknown operation', () => {
    assert.equal(failure('Nope', {}).code, 'UnknownOperationException');
  });
});

describe('required members', () => {
  it('reports a missing required member as null', () => {
    assert.equal(
      validation('DescribeKey', {}),
      "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null",
    );
  });

  it('treats JSON null like an absent member', () => {
    assert.match(validation('DescribeKey', { KeyId: null }), /Value null at 'keyId'/);
  });

  it('counts and joins several errors', () => {
    assert.equal(
      validation('GenerateRandom', { NumberOfBytes: 5000, CustomKeyStoreId: '' }) +
        '|' +
        validation('Encrypt', {}),
      "2 validation errors detected: Value '5000' at 'numberOfBytes' failed to satisfy constraint: Member must have value less than or equal to 1024; Value '' at 'customKeyStoreId' failed to satisfy constraint: Member must have length greater than or equal to 1" +
        '|' +
        "2 validation errors detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null; Value at 'plaintext' failed to satisfy constraint: Member must not be null",
    );
  });
});

describe('length constraints', () => {
  it('checks string min and max length', () => {
    assert.equal(
      validation('DescribeKey', { KeyId: '' }),
      "1 validation error detected: Value '' at 'keyId' failed to satisfy constraint: Member must have length greater than or equal to 1",
    );
    assert.match(
      validation('DescribeKey', { KeyId: 'k'.repeat(2049) }),
      /^1 validation error detected: Value 'k{2049}' at 'keyId' failed to satisfy constraint: Member must have length less than or equal to 2048$/,
    );
    assert.deepEqual(parseInput('DescribeKey', { KeyId: 'k'.repeat(2048) }), {
      KeyId: 'k'.repeat(2048),
    });
  });

  it('counts code points, not UTF-16 units', () => {
    // 2048 astral characters are 4096 UTF-16 units but 2048 code points
    assert.doesNotThrow(() => parseInput('DescribeKey', { KeyId: '😀'.repeat(2048) }));
    assert.match(validation('DescribeKey', { KeyId: '😀'.repeat(2049) }), /less than or equal/);
  });

  it('checks blob byte length and prints blobs like KMS does', () => {
    assert.equal(
      validation('Decrypt', { CiphertextBlob: '' }),
      "1 validation error detected: Value 'java.nio.HeapByteBuffer[pos=0 lim=0 cap=0]' at 'ciphertextBlob' failed to satisfy constraint: Member must have length greater than or equal to 1",
    );
    assert.match(
      validation('Decrypt', { CiphertextBlob: b64(6145) }),
      /Value 'java\.nio\.HeapByteBuffer\[pos=0 lim=6145 cap=6145\]' at 'ciphertextBlob' failed to satisfy constraint: Member must have length less than or equal to 6144/,
    );
    assert.doesNotThrow(() => parseInput('Decrypt', { CiphertextBlob: b64(6144) }));
  });

  it('checks list length', () => {
    assert.equal(
      validation('Encrypt', { KeyId: 'k', Plaintext: b64(1), GrantTokens: Array(11).fill('t') }),
      "1 validation error detected: Value '[t, t, t, t, t, t, t, t, t, t, t]' at 'grantTokens' failed to satisfy constraint: Member must have length less than or equal to 10",
    );
  });
});

describe('range, pattern and enum constraints', () => {
  it('checks integer ranges', () => {
    assert.match(
      validation('GenerateRandom', { NumberOfBytes: 0 }),
      /Value '0' at 'numberOfBytes' failed to satisfy constraint: Member must have value greater than or equal to 1$/,
    );
    assert.deepEqual(parseInput('GenerateRandom', { NumberOfBytes: 1024 }), {
      NumberOfBytes: 1024,
    });
    assert.match(
      validation('ScheduleKeyDeletion', { KeyId: 'k', PendingWindowInDays: 366 }),
      /'pendingWindowInDays' failed to satisfy constraint: Member must have value less than or equal to 365/,
    );
  });

  it('accepts alias names and rejects bad characters', () => {
    assert.deepEqual(parseInput('CreateAlias', { AliasName: 'alias/my-key_1', TargetKeyId: 'k' }), {
      AliasName: 'alias/my-key_1',
      TargetKeyId: 'k',
    });
    assert.equal(
      validation('CreateAlias', { AliasName: 'alias/bad name!', TargetKeyId: 'k' }),
      "1 validation error detected: Value 'alias/bad name!' at 'aliasName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$",
    );
  });

  it('reports every violated constraint of one member', () => {
    assert.equal(
      validation('CreateAlias', { AliasName: '', TargetKeyId: 'k' }),
      "2 validation errors detected: Value '' at 'aliasName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$; Value '' at 'aliasName' failed to satisfy constraint: Member must have length greater than or equal to 1",
    );
  });

  it('anchors patterns to the whole value (Java matches())', () => {
    // AccountIdType pattern is `[0-9]{12}` without anchors
    const re = compileJavaPattern('[0-9]{12}');
    assert.equal(re.test('123456789012'), true);
    assert.equal(re.test('x123456789012'), false);
    assert.equal(re.test('1234567890123'), false);
    // alternation is anchored as a whole
    const xks = compileJavaPattern(
      '^(/[a-zA-Z0-9\\/_-]+/kms/xks/v\\d{1,2})$|^(/kms/xks/v\\d{1,2})$',
    );
    assert.equal(xks.test('/kms/xks/v1'), true);
    assert.equal(xks.test('/a/kms/xks/v12'), true);
    assert.equal(xks.test('/kms/xks/v1x'), false);
    // Java \s is ASCII whitespace only
    const desc = compileJavaPattern('^[a-zA-Z0-9:/_\\s.-]+$');
    assert.equal(desc.test('a b\tc'), true);
    assert.equal(desc.test('a\u00a0b'), false);
    assert.equal(compileJavaPattern('[0-9]{12}'), re, 'compiled regexes are cached');
  });

  it('compiles every model pattern', () => {
    for (const shape of Object.values(KMS_MODEL.shapes)) {
      if (shape.pattern !== undefined)
        assert.ok(compileJavaPattern(shape.pattern) instanceof RegExp);
    }
  });

  it('checks enums', () => {
    assert.match(
      validation('CreateKey', { KeyUsage: 'NOPE' }),
      /^1 validation error detected: Value 'NOPE' at 'keyUsage' failed to satisfy constraint: Member must satisfy enum value set: \[ENCRYPT_DECRYPT, SIGN_VERIFY, GENERATE_VERIFY_MAC, KEY_AGREEMENT\]$/,
    );
    assert.deepEqual(parseInput('CreateKey', { KeyUsage: 'ENCRYPT_DECRYPT' }), {
      KeyUsage: 'ENCRYPT_DECRYPT',
    });
  });

  it('reports list items of scalar shape once, at the list', () => {
    assert.match(
      validation('CreateGrant', {
        KeyId: 'k',
        GranteePrincipal: 'p',
        Operations: ['Decrypt', 'Nope'],
      }),
      /^1 validation error detected: Value '\[Decrypt, Nope\]' at 'operations' failed to satisfy constraint: Member must satisfy constraint: \[Member must satisfy enum value set: \[Decrypt, Encrypt, .*\]\]$/,
    );
  });
});

describe('nested shapes', () => {
  it('validates lists of Tag structures with 1-based member paths', () => {
    assert.equal(
      validation('CreateKey', {
        Tags: [
          { TagKey: 'ok', TagValue: 'v' },
          { TagKey: '', TagValue: 'v' },
          { TagValue: 'x'.repeat(257) },
        ],
      }),
      '3 validation errors detected: ' +
        "Value '' at 'tags.2.member.tagKey' failed to satisfy constraint: Member must have length greater than or equal to 1; " +
        "Value null at 'tags.3.member.tagKey' failed to satisfy constraint: Member must not be null; " +
        `Value '${'x'.repeat(257)}' at 'tags.3.member.tagValue' failed to satisfy constraint: Member must have length less than or equal to 256`,
    );
    assert.deepEqual(
      parseInput('TagResource', { KeyId: 'k', Tags: [{ TagKey: 'a', TagValue: '' }] }),
      {
        KeyId: 'k',
        Tags: [{ TagKey: 'a', TagValue: '' }],
      },
    );
  });

  it('validates nested structures with dotted paths (sensitive members: no value, not even null)', () => {
    assert.equal(
      validation('CreateCustomKeyStore', {
        CustomKeyStoreName: 'n',
        XksProxyAuthenticationCredential: {},
      }),
      '2 validation errors detected: ' +
        "Value at 'xksProxyAuthenticationCredential.accessKeyId' failed to satisfy constraint: Member must not be null; " +
        "Value at 'xksProxyAuthenticationCredential.rawSecretAccessKey' failed to satisfy constraint: Member must not be null",
    );
    // a wrong type inside a nested map is a serialization error
    assert.equal(
      serialization('CreateGrant', {
        KeyId: 'k',
        Operations: ['Decrypt'],
        Constraints: { EncryptionContextSubset: { a: 1 } },
      }),
      'NUMBER_VALUE can not be converted to a String',
    );
  });

  it('passes EncryptionContext maps through and drops null values', () => {
    const out = parseInput('Encrypt', {
      KeyId: 'k',
      Plaintext: 'AQ==',
      EncryptionContext: { purpose: 'test', dropped: null, '': 'empty key ok' },
    });
    assert.deepEqual(out.EncryptionContext, { purpose: 'test', '': 'empty key ok' });
    const ec = JSON.parse('{"__proto__":"x","a":null}') as unknown;
    const out2 = parseInput('Encrypt', { KeyId: 'k', Plaintext: 'AQ==', EncryptionContext: ec });
    assert.deepEqual(Object.keys(out2.EncryptionContext as object), ['__proto__']);
  });

  it('rejects a non-map EncryptionContext', () => {
    assert.equal(
      serialization('Encrypt', { KeyId: 'k', Plaintext: 'AQ==', EncryptionContext: 'a=b' }),
      'Expected map or null',
    );
    assert.equal(
      serialization('Encrypt', { KeyId: 'k', Plaintext: 'AQ==', EncryptionContext: [] }),
      'Start of list found where not expected',
    );
  });
});

describe('deserialization', () => {
  it('decodes blobs from base64 into Buffers', () => {
    const out = parseInput('Encrypt', {
      KeyId: 'k',
      Plaintext: Buffer.from('hello').toString('base64'),
    });
    assert.ok(Buffer.isBuffer(out.Plaintext));
    assert.equal((out.Plaintext as Buffer).toString(), 'hello');
  });

  it('rejects invalid base64 with SerializationException', () => {
    assert.equal(
      serialization('Encrypt', { KeyId: 'k', Plaintext: 'abc' }),
      'STRING_VALUE can not be converted to a Blob: Base64 encoded length is expected a multiple of 4 bytes but found: 3',
    );
    assert.match(
      serialization('Encrypt', { KeyId: 'k', Plaintext: 'ab$=' }),
      /Invalid Base64 character/,
    );
    assert.match(serialization('Encrypt', { KeyId: 'k', Plaintext: 'a=bc' }), /Invalid Base64/);
    assert.match(serialization('Encrypt', { KeyId: 'k', Plaintext: 'AB==' }), /last non-pad/);
    assert.match(serialization('Encrypt', { KeyId: 'k', Plaintext: 'aGk_' }), /Invalid Base64/);
    assert.equal(
      serialization('Encrypt', { KeyId: 'k', Plaintext: 12 }),
      'NUMBER_VALUE can not be converted to a Blob',
    );
  });

  it('converts timestamps from epoch seconds and ISO strings', () => {
    const base = { KeyId: 'k', ImportToken: 'AQ==', EncryptedKeyMaterial: 'AQ==' };
    const a = parseInput('ImportKeyMaterial', { ...base, ValidTo: 1499288695.918 });
    assert.ok(a.ValidTo instanceof Date);
    assert.equal((a.ValidTo as Date).getTime(), 1499288695918);
    const b = parseInput('ImportKeyMaterial', { ...base, ValidTo: '2024-01-02T03:04:05Z' });
    assert.equal((b.ValidTo as Date).toISOString(), '2024-01-02T03:04:05.000Z');
    assert.equal(
      failure('ImportKeyMaterial', { ...base, ValidTo: 'tomorrow' }).code,
      'SerializationException',
    );
    assert.equal(
      failure('ImportKeyMaterial', { ...base, ValidTo: true }).code,
      'SerializationException',
    );
  });

  it('rejects wrong JSON types with AWS wording', () => {
    assert.equal(
      serialization('DescribeKey', { KeyId: 5 }),
      'NUMBER_VALUE can not be converted to a String',
    );
    assert.equal(
      serialization('DescribeKey', { KeyId: true }),
      'TRUE_VALUE can not be converted to a String',
    );
    assert.equal(
      serialization('DescribeKey', { KeyId: {} }),
      'Start of structure or map found where not expected.',
    );
    assert.equal(
      serialization('DescribeKey', { KeyId: [] }),
      'Start of list found where not expected',
    );
    assert.equal(
      serialization('CreateKey', { BypassPolicyLockoutSafetyCheck: 'true' }),
      'STRING_VALUE can not be converted to a Boolean',
    );
    assert.equal(
      serialization('CreateKey', { MultiRegion: 1 }),
      'NUMBER_VALUE can not be converted to a Boolean',
    );
    assert.equal(
      serialization('GenerateRandom', { NumberOfBytes: '32' }),
      'STRING_VALUE can not be converted to an Integer',
    );
    assert.equal(
      serialization('GenerateRandom', { NumberOfBytes: 1.5 }),
      'DECIMAL_VALUE can not be converted to an Integer',
    );
    assert.equal(serialization('CreateKey', { Tags: 'x' }), 'Expected list or null');
    assert.equal(
      serialization('CreateKey', { Tags: {} }),
      'Start of structure or map found where not expected.',
    );
    assert.equal(serialization('CreateKey', { Tags: ['x'] }), 'Expected null');
    assert.equal(
      serialization('CreateKey', { Tags: [[]] }),
      'Start of list found where not expected',
    );
  });

  it('rejects a body that is not a JSON object', () => {
    assert.equal(serialization('DescribeKey', []), 'Start of list found where not expected');
    assert.equal(serialization('DescribeKey', 'x'), 'Expected null');
    assert.equal(serialization('ListKeys', 42), 'Expected null');
  });

  it('treats an absent body as empty input', () => {
    assert.deepEqual(parseInput('ListKeys', undefined), {});
    assert.deepEqual(parseInput('ListKeys', null), {});
    assert.deepEqual(parseInput('ListKeys', {}), {});
  });

  it('drops unknown members', () => {
    assert.deepEqual(
      parseInput('DescribeKey', { KeyId: 'k', Bogus: { deep: [1] }, keyId: 'lower' }),
      {
        KeyId: 'k',
      },
    );
  });

  it('drops null list items', () => {
    const out = parseInput('Encrypt', {
      KeyId: 'k',
      Plaintext: 'AQ==',
      GrantTokens: ['a', null, 'b'],
    });
    assert.deepEqual(out.GrantTokens, ['a', 'b']);
  });
});

describe('sensitive values', () => {
  it('never echoes a sensitive value', () => {
    const secret = Buffer.alloc(4097, 0x41).toString('base64');
    const msg = validation('Encrypt', { KeyId: 'k', Plaintext: secret });
    assert.equal(
      msg,
      "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length less than or equal to 4096",
    );
    assert.ok(!msg.includes('QUFB'));
  });

  it('hides sensitive strings in nested structures', () => {
    const msg = validation('CreateCustomKeyStore', {
      CustomKeyStoreName: 'n',
      XksProxyAuthenticationCredential: {
        AccessKeyId: 'lowercase-secret-id-zz',
        RawSecretAccessKey: 'short-secret',
      },
    });
    assert.ok(msg.includes("Value at 'xksProxyAuthenticationCredential.accessKeyId'"), msg);
    assert.ok(msg.includes("Value at 'xksProxyAuthenticationCredential.rawSecretAccessKey'"), msg);
    assert.ok(!msg.includes('secret'), msg);
  });

  it('does not echo invalid base64 of a sensitive blob', () => {
    const msg = serialization('Encrypt', { KeyId: 'k', Plaintext: 'my secret!' });
    assert.ok(!msg.includes('secret'), msg);
  });
});

// --- minimal valid inputs for every operation --------------------------------------------------

/** Known-valid samples for the patterned shapes (checked against the patterns below). */
const PATTERN_SAMPLES: Record<string, string> = {
  AccountIdType: '111122223333',
  AliasNameType: 'alias/example',
  BackingKeyIdType: 'a'.repeat(64),
  CloudHsmClusterIdType: 'cluster-234abcdefgh',
  GrantConstraintSourceArnType: 'arn:aws:s3:us-east-1:111122223333:bucket/x',
  GrantNameType: 'grant-name',
  KeyMaterialDescriptionType: 'my key material',
  MarkerType: 'marker',
  PolicyNameType: 'default',
  PolicyType: '{"Version":"2012-10-17"}',
  PrincipalIdType: 'arn:aws:iam::111122223333:role/x',
  RegionType: 'us-east-1',
  ServicePrincipalType: 'service.amazonaws.com',
  XksKeyIdType: 'xks-key-1',
  XksProxyAuthenticationAccessKeyIdType: 'ABCDEFGHIJKLMNOPQRST',
  XksProxyAuthenticationRawSecretAccessKeyType: 'a'.repeat(43),
  XksProxyUriEndpointType: 'https://xks.example.com',
  XksProxyUriPathType: '/kms/xks/v1',
  XksProxyVpcEndpointServiceNameType: 'com.amazonaws.vpce.us-east-1.vpce-svc-0abc',
};

function sample(name: string): unknown {
  const shape: ModelShape | undefined = KMS_MODEL.shapes[name];
  assert.ok(shape, name);
  switch (shape.type) {
    case 'structure': {
      const out: Record<string, unknown> = {};
      for (const m of shape.required ?? []) out[m] = sample(shape.members![m]!);
      return out;
    }
    case 'list':
      return Array.from({ length: shape.min ?? 0 }, () => sample(shape.member!));
    case 'map':
      return {};
    case 'string':
      if (shape.enum) return shape.enum[0];
      if (shape.pattern) {
        const s = PATTERN_SAMPLES[name];
        assert.ok(s !== undefined, `no sample for patterned shape ${name}`);
        return s;
      }
      return 'x'.repeat(Math.max(shape.min ?? 1, 1));
    case 'blob':
      return b64(Math.max(shape.min ?? 1, 1));
    case 'boolean':
      return true;
    case 'timestamp':
      return 1700000000;
    default:
      return shape.min ?? 1;
  }
}

describe('every operation', () => {
  it('has pattern samples that satisfy their patterns', () => {
    for (const [name, value] of Object.entries(PATTERN_SAMPLES)) {
      const shape = KMS_MODEL.shapes[name];
      assert.ok(shape?.pattern, name);
      assert.ok(compileJavaPattern(shape.pattern).test(value), `${name}: ${value}`);
    }
  });

  it('accepts a minimal valid input built from its required members', () => {
    for (const op of OPERATION_NAMES) {
      const input = KMS_MODEL.operations[op];
      assert.ok(input, op);
      const body = sample(input);
      assert.doesNotThrow(() => parseInput(op, body), `${op} ${JSON.stringify(body)}`);
      if ((KMS_MODEL.shapes[input]?.required ?? []).length > 0) {
        assert.equal(failure(op, {}).code, 'ValidationException', op);
      }
    }
  });
});

// --- property: nothing but KmsError or success -------------------------------------------------

describe('property', () => {
  const memberNames = [
    ...new Set(Object.values(KMS_MODEL.shapes).flatMap((s) => Object.keys(s.members ?? {}))),
  ];
  const key = fc.oneof(fc.constantFrom(...memberNames), fc.string());
  const value: fc.Arbitrary<unknown> = fc.letrec<{ v: unknown }>((tie) => ({
    v: fc.oneof(
      { depthSize: 'small' },
      fc.jsonValue({ maxDepth: 2 }),
      fc.base64String({ maxLength: 40 }),
      fc.constantFrom('alias/x', 'ENCRYPT_DECRYPT', 'AES_256', ''),
      fc.integer({ min: -10, max: 5000 }),
      fc.array(tie('v'), { maxLength: 4 }),
      fc.dictionary(key, tie('v'), { maxKeys: 4 }),
    ),
  })).v;
  const body = fc.oneof(
    { weight: 5, arbitrary: fc.dictionary(key, value, { maxKeys: 8 }) },
    { weight: 1, arbitrary: fc.jsonValue() },
  );

  it('random bodies give a result or a KmsError, never a TypeError', () => {
    fc.assert(
      fc.property(fc.constantFrom(...OPERATION_NAMES), body, (op, b) => {
        try {
          const out = parseInput(op, b);
          return typeof out === 'object' && out !== null && !Array.isArray(out);
        } catch (err) {
          return (
            err instanceof KmsError &&
            (err.code === 'ValidationException' || err.code === 'SerializationException')
          );
        }
      }),
      { numRuns: 3000 },
    );
  });
});
