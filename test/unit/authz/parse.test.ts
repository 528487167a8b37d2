/** parsePolicy: valid documents normalize; malformed ones throw MalformedPolicyDocumentException. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  clearPolicyCache,
  parsePolicyCached,
  policyCacheSize,
} from '../../../src/authz/policy/cache.js';
import { parsePolicy, type PolicyKind } from '../../../src/authz/policy/document.js';
import { parseOperatorName } from '../../../src/authz/policy/operators.js';

const stmt = (extra: Record<string, unknown>): string =>
  JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { AWS: '111122223333' },
        Action: 'kms:*',
        Resource: '*',
        ...extra,
      },
    ],
  });

function rejects(text: string, kind: PolicyKind, message?: RegExp): void {
  assert.throws(
    () => parsePolicy(text, kind),
    (e: unknown) => {
      assert.ok(e instanceof Error);
      assert.equal(e.name, 'MalformedPolicyDocumentException');
      if (message) assert.match(e.message, message);
      return true;
    },
  );
}

describe('parsePolicy: valid documents', () => {
  it('normalizes the default key policy', () => {
    const doc = parsePolicy(
      '{"Version":"2012-10-17","Id":"key-default-1","Statement":[{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}]}',
      'key',
    );
    assert.equal(doc.id, 'key-default-1');
    const s = doc.statements[0];
    assert.ok(s !== undefined);
    assert.deepEqual(s.action, ['kms:*']);
    assert.deepEqual(s.resource, ['*']);
    assert.deepEqual(s.principal?.aws, ['arn:aws:iam::111122223333:root']);
    assert.equal(s.effective, true);
  });
  it('a bare account id becomes the account root ARN', () => {
    assert.deepEqual(parsePolicy(stmt({}), 'key').statements[0]?.principal?.aws, [
      'arn:aws:iam::111122223333:root',
    ]);
  });
  it('accepts a single statement object, Principal "*", and Service/Federated principals', () => {
    const doc = parsePolicy(
      '{"Version":"2012-10-17","Statement":{"Effect":"Deny","Principal":{"AWS":"*","Service":["ec2.amazonaws.com"],"Federated":"cognito-identity.amazonaws.com"},"NotAction":"kms:Describe*","NotResource":"arn:aws:kms:*:*:key/x"}}',
      'key',
    );
    const s = doc.statements[0];
    assert.equal(s?.principal?.wildcard, true);
    assert.deepEqual(s?.principal?.service, ['ec2.amazonaws.com']);
    assert.deepEqual(s?.notAction, ['kms:Describe*']);
  });
  it('omitted Version defaults to 2008-10-17', () => {
    assert.equal(
      parsePolicy('{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}', 'identity')
        .version,
      '2008-10-17',
    );
  });
  it('key-policy statement without Resource is accepted but has no effect', () => {
    const s = parsePolicy(
      '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"kms:*"}]}',
      'key',
    ).statements[0];
    assert.equal(s?.effective, false);
  });
  it('trust policies need no Resource', () => {
    const doc = parsePolicy(
      '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}',
      'trust',
    );
    assert.equal(doc.statements[0]?.effective, true);
  });
  it('parses condition operators and stringifies values', () => {
    const c = parsePolicy(
      stmt({
        Condition: {
          'ForAnyValue:StringLikeIfExists': { 'kms:EncryptionContextKeys': ['a*', 'b'] },
          NumericLessThan: { 'k:n': 5 },
        },
      }),
      'key',
    ).statements[0]?.conditions;
    assert.deepEqual(c?.[0]?.operator, {
      raw: 'ForAnyValue:StringLikeIfExists',
      base: 'StringLike',
      ifExists: true,
      setQualifier: 'ForAnyValue',
    });
    assert.equal(c?.[0]?.keyLower, 'kms:encryptioncontextkeys');
    assert.deepEqual(c?.[1]?.values, ['5']);
  });
  it('assumed-role and user principals', () => {
    const doc = parsePolicy(
      stmt({
        Principal: {
          AWS: [
            'arn:aws:sts::111122223333:assumed-role/R/s',
            'arn:aws:iam::111122223333:user/path/u',
            'arn:aws:iam::111122223333:role/R',
          ],
        },
      }),
      'key',
    );
    assert.equal(doc.statements[0]?.principal?.aws.length, 3);
  });
});

describe('parsePolicy: malformed documents', () => {
  const bad: [string, string, PolicyKind, RegExp][] = [
    ['not JSON', '{', 'key', /not valid JSON/],
    ['not an object', '[]', 'key', /JSON object/],
    ['bad Version', '{"Version":"2013-01-01","Statement":[]}', 'key', /Version/],
    ['no Statement', '{"Version":"2012-10-17"}', 'key', /Statement/],
    ['empty Statement', '{"Version":"2012-10-17","Statement":[]}', 'key', /at least one/],
    [
      'unknown top-level element',
      '{"Version":"2012-10-17","Foo":1,"Statement":[]}',
      'key',
      /Unknown policy element: Foo/,
    ],
    ['bad Effect', stmt({ Effect: 'Permit' }), 'key', /Effect/],
    ['unknown statement element', stmt({ Extra: 1 }), 'key', /unknown element: Extra/],
    [
      'key policy without Principal',
      '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}',
      'key',
      /Principal/,
    ],
    [
      'trust policy without Principal',
      '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole"}]}',
      'trust',
      /Principal/,
    ],
    ['identity policy with Principal', stmt({}), 'identity', /must not contain Principal/],
    [
      'identity policy without Action',
      '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Resource":"*"}]}',
      'identity',
      /Action/,
    ],
    [
      'identity policy without Resource',
      '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*"}]}',
      'identity',
      /Resource/,
    ],
    [
      'Action and NotAction',
      stmt({ NotAction: 'kms:Decrypt' }),
      'key',
      /both Action and NotAction/,
    ],
    [
      'Principal and NotPrincipal',
      stmt({ NotPrincipal: '*' }),
      'key',
      /both Principal and NotPrincipal/,
    ],
    ['empty Action list', stmt({ Action: [] }), 'key', /must not be empty/],
    ['non-string Action', stmt({ Action: [1] }), 'key', /strings/],
    [
      'unknown condition operator',
      stmt({ Condition: { StringEqualz: { 'a:b': 'c' } } }),
      'key',
      /unknown condition operator StringEqualz/,
    ],
    [
      'bad set qualifier',
      stmt({ Condition: { 'ForSomeValues:StringEquals': { 'a:b': 'c' } } }),
      'key',
      /unknown condition operator/,
    ],
    [
      'NullIfExists',
      stmt({ Condition: { NullIfExists: { 'a:b': 'true' } } }),
      'key',
      /unknown condition operator/,
    ],
    [
      'condition block not an object',
      stmt({ Condition: { StringEquals: 'x' } }),
      'key',
      /must map/,
    ],
    [
      'condition value object',
      stmt({ Condition: { StringEquals: { 'a:b': { x: 1 } } } }),
      'key',
      /values must be/,
    ],
    [
      'invalid CIDR',
      stmt({ Condition: { IpAddress: { 'aws:SourceIp': '10.0.0.0/40' } } }),
      'key',
      /invalid value/,
    ],
    [
      'invalid number',
      stmt({ Condition: { NumericEquals: { 'k:n': 'ten' } } }),
      'key',
      /invalid value/,
    ],
    [
      'invalid date',
      stmt({ Condition: { DateLessThan: { 'aws:CurrentTime': 'tomorrow' } } }),
      'key',
      /invalid value/,
    ],
    [
      'ForAllValues on kms:EncryptionContext:',
      stmt({ Condition: { 'ForAllValues:StringEquals': { 'kms:EncryptionContext:a': 'b' } } }),
      'key',
      /OverlyPermissiveCondition/,
    ],
    [
      'group principal',
      stmt({ Principal: { AWS: 'arn:aws:iam::111122223333:group/g' } }),
      'key',
      /invalid principals/,
    ],
    ['short account id', stmt({ Principal: { AWS: '1111' } }), 'key', /invalid principals/],
    [
      'wildcard in principal ARN',
      stmt({ Principal: { AWS: 'arn:aws:iam::*:root' } }),
      'key',
      /invalid principals/,
    ],
    ['unknown principal type', stmt({ Principal: { Users: 'x' } }), 'key', /invalid principals/],
    [
      'Principal string other than *',
      stmt({ Principal: 'arn:aws:iam::111122223333:root' }),
      'key',
      /invalid principals/,
    ],
    ['Sid not a string', stmt({ Sid: 3 }), 'key', /Sid/],
  ];
  for (const [name, text, kind, msg] of bad) it(name, () => rejects(text, kind, msg));
});

describe('operator names', () => {
  it('parse qualifier, base and IfExists', () => {
    assert.deepEqual(parseOperatorName('ForAllValues:ArnNotLikeIfExists'), {
      raw: 'ForAllValues:ArnNotLikeIfExists',
      base: 'ArnNotLike',
      ifExists: true,
      setQualifier: 'ForAllValues',
    });
    assert.equal(parseOperatorName('stringequals'), undefined);
  });
});

describe('parsePolicyCached', () => {
  it('returns the same document for the same text and kind, and does not cache failures', () => {
    clearPolicyCache();
    const a = parsePolicyCached(stmt({}), 'key');
    assert.equal(parsePolicyCached(stmt({}), 'key'), a);
    assert.throws(() => parsePolicyCached('{', 'key'));
    assert.equal(policyCacheSize(), 1);
  });
  it('stays bounded', () => {
    clearPolicyCache();
    for (let i = 0; i < 1100; i++) parsePolicyCached(stmt({ Sid: `s${i}` }), 'key');
    assert.ok(policyCacheSize() <= 1024);
  });
});
