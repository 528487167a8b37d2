/** Condition operators, IfExists, set qualifiers, missing keys, CIDR, dates, variables. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  buildContext,
  evaluateConditions,
  type ContextInput,
} from '../../../src/authz/policy/conditions.js';
import { parsePolicy } from '../../../src/authz/policy/document.js';
import { cidrContains, parseCidr } from '../../../src/authz/policy/ip.js';

/** Evaluate one Condition block (as JSON) against a context. */
function holds(
  condition: Record<string, unknown>,
  ctx: ContextInput,
  version = '2012-10-17',
): boolean {
  const doc = parsePolicy(
    JSON.stringify({
      Version: version,
      Statement: [{ Effect: 'Allow', Action: '*', Resource: '*', Condition: condition }],
    }),
    'identity',
  );
  const st = doc.statements[0];
  assert.ok(st !== undefined);
  return evaluateConditions(st.conditions, buildContext(ctx), version === '2012-10-17').ok;
}

const cases: [string, Record<string, unknown>, ContextInput, boolean][] = [
  ['StringEquals match', { StringEquals: { 'k:a': 'x' } }, { 'k:a': 'x' }, true],
  [
    'StringEquals is case-sensitive on values',
    { StringEquals: { 'k:a': 'x' } },
    { 'k:a': 'X' },
    false,
  ],
  ['condition keys are case-insensitive', { StringEquals: { 'K:A': 'x' } }, { 'k:a': 'x' }, true],
  ['multiple values are OR', { StringEquals: { 'k:a': ['x', 'y'] } }, { 'k:a': 'y' }, true],
  ['multiple keys are AND', { StringEquals: { 'k:a': 'x', 'k:b': 'y' } }, { 'k:a': 'x' }, false],
  [
    'multiple operators are AND',
    { StringEquals: { 'k:a': 'x' }, StringLike: { 'k:b': 'y*' } },
    { 'k:a': 'x', 'k:b': 'yes' },
    true,
  ],
  ['StringEquals missing key → false', { StringEquals: { 'k:a': 'x' } }, {}, false],
  ['StringNotEquals missing key → true', { StringNotEquals: { 'k:a': 'x' } }, {}, true],
  [
    'StringNotEquals values are NOR (hit)',
    { StringNotEquals: { 'k:a': ['x', 'y'] } },
    { 'k:a': 'y' },
    false,
  ],
  [
    'StringNotEquals values are NOR (miss)',
    { StringNotEquals: { 'k:a': ['x', 'y'] } },
    { 'k:a': 'z' },
    true,
  ],
  [
    'StringEqualsIgnoreCase',
    { StringEqualsIgnoreCase: { 'k:a': 'HeLLo' } },
    { 'k:a': 'hello' },
    true,
  ],
  [
    'StringNotEqualsIgnoreCase',
    { StringNotEqualsIgnoreCase: { 'k:a': 'HeLLo' } },
    { 'k:a': 'hello' },
    false,
  ],
  ['StringLike *', { StringLike: { 'k:a': 'ab*z' } }, { 'k:a': 'abcdz' }, true],
  ['StringLike ?', { StringLike: { 'k:a': 'a?c' } }, { 'k:a': 'abc' }, true],
  ['StringLike ? is one char', { StringLike: { 'k:a': 'a?c' } }, { 'k:a': 'abbc' }, false],
  ['StringLike regex chars are literal', { StringLike: { 'k:a': 'a.c' } }, { 'k:a': 'abc' }, false],
  ['StringNotLike', { StringNotLike: { 'k:a': 'a*' } }, { 'k:a': 'bcd' }, true],
  ['StringNotLike missing → true', { StringNotLike: { 'k:a': 'a*' } }, {}, true],
  ['StringEqualsIfExists missing → true', { StringEqualsIfExists: { 'k:a': 'x' } }, {}, true],
  [
    'StringEqualsIfExists present mismatch',
    { StringEqualsIfExists: { 'k:a': 'x' } },
    { 'k:a': 'y' },
    false,
  ],
  ['NumericEquals', { NumericEquals: { 'k:n': '10' } }, { 'k:n': 10 }, true],
  ['NumericNotEquals', { NumericNotEquals: { 'k:n': 10 } }, { 'k:n': '11' }, true],
  ['NumericLessThan', { NumericLessThan: { 'k:n': '10' } }, { 'k:n': '9.5' }, true],
  ['NumericLessThanEquals', { NumericLessThanEquals: { 'k:n': '10' } }, { 'k:n': '10' }, true],
  ['NumericGreaterThan', { NumericGreaterThan: { 'k:n': '10' } }, { 'k:n': '10' }, false],
  [
    'NumericGreaterThanEquals',
    { NumericGreaterThanEquals: { 'k:n': '10' } },
    { 'k:n': '10' },
    true,
  ],
  ['Numeric non-number request value', { NumericEquals: { 'k:n': '10' } }, { 'k:n': 'ten' }, false],
  ['NumericLessThanIfExists missing', { NumericLessThanIfExists: { 'k:n': '1' } }, {}, true],
  [
    'DateEquals ISO vs epoch',
    { DateEquals: { 'aws:CurrentTime': '2020-01-01T00:00:00Z' } },
    { 'aws:CurrentTime': '1577836800' },
    true,
  ],
  [
    'DateNotEquals',
    { DateNotEquals: { 'aws:CurrentTime': '2020-01-01T00:00:00Z' } },
    { 'aws:CurrentTime': '2020-01-02' },
    true,
  ],
  [
    'DateLessThan',
    { DateLessThan: { 'aws:CurrentTime': '2020-01-01T00:00:00Z' } },
    { 'aws:CurrentTime': '2019-12-31T23:59:59Z' },
    true,
  ],
  [
    'DateLessThanEquals',
    { DateLessThanEquals: { 'aws:CurrentTime': 1577836800 } },
    { 'aws:CurrentTime': '2020-01-01T00:00:00Z' },
    true,
  ],
  [
    'DateGreaterThan',
    { DateGreaterThan: { 'aws:CurrentTime': '2020-01-01' } },
    { 'aws:CurrentTime': '2019-06-01T00:00:00Z' },
    false,
  ],
  [
    'DateGreaterThanEquals',
    { DateGreaterThanEquals: { 'aws:CurrentTime': '2020-01-01T00:00:00+01:00' } },
    { 'aws:CurrentTime': '2019-12-31T23:00:00Z' },
    true,
  ],
  ['Date missing → false', { DateLessThan: { 'aws:CurrentTime': '2020-01-01' } }, {}, false],
  ['Bool true', { Bool: { 'aws:SecureTransport': 'true' } }, { 'aws:SecureTransport': true }, true],
  [
    'Bool JSON boolean',
    { Bool: { 'kms:GrantIsForAWSResource': true } },
    { 'kms:GrantIsForAWSResource': 'TRUE' },
    true,
  ],
  [
    'Bool false',
    { Bool: { 'aws:SecureTransport': 'false' } },
    { 'aws:SecureTransport': true },
    false,
  ],
  ['BoolIfExists missing', { BoolIfExists: { 'aws:MultiFactorAuthPresent': 'false' } }, {}, true],
  ['BinaryEquals', { BinaryEquals: { 'k:b': 'QmluYXJ5' } }, { 'k:b': 'QmluYXJ5' }, true],
  ['BinaryEquals mismatch', { BinaryEquals: { 'k:b': 'QmluYXJ5' } }, { 'k:b': 'QmluYXJa' }, false],
  [
    'IpAddress v4 CIDR',
    { IpAddress: { 'aws:SourceIp': '203.0.113.0/24' } },
    { 'aws:SourceIp': '203.0.113.77' },
    true,
  ],
  [
    'IpAddress v4 outside',
    { IpAddress: { 'aws:SourceIp': '203.0.113.0/24' } },
    { 'aws:SourceIp': '203.0.112.255' },
    false,
  ],
  [
    'IpAddress bare address = /32',
    { IpAddress: { 'aws:SourceIp': '192.0.2.1' } },
    { 'aws:SourceIp': '192.0.2.1' },
    true,
  ],
  [
    'IpAddress v6 CIDR',
    { IpAddress: { 'aws:SourceIp': '2001:DB8:1234:5678::/64' } },
    { 'aws:SourceIp': '2001:db8:1234:5678:abcd::1' },
    true,
  ],
  [
    'IpAddress v6 outside',
    { IpAddress: { 'aws:SourceIp': '2001:DB8:1234:5678::/64' } },
    { 'aws:SourceIp': '2001:db8:1234:5679::1' },
    false,
  ],
  [
    'IpAddress v4 request vs v6 range',
    { IpAddress: { 'aws:SourceIp': '::/0' } },
    { 'aws:SourceIp': '10.0.0.1' },
    false,
  ],
  [
    'NotIpAddress',
    { NotIpAddress: { 'aws:SourceIp': ['10.0.0.0/8', '172.16.0.0/12'] } },
    { 'aws:SourceIp': '172.20.1.1' },
    false,
  ],
  ['NotIpAddress missing → true', { NotIpAddress: { 'aws:SourceIp': '10.0.0.0/8' } }, {}, true],
  [
    'ArnEquals',
    { ArnEquals: { 'aws:SourceArn': 'arn:aws:s3:::bucket' } },
    { 'aws:SourceArn': 'arn:aws:s3:::bucket' },
    true,
  ],
  [
    'ArnLike per-component',
    { ArnLike: { 'aws:PrincipalArn': 'arn:aws:iam::*:role/Admin*' } },
    { 'aws:PrincipalArn': 'arn:aws:iam::111122223333:role/AdminX' },
    true,
  ],
  [
    'ArnLike wildcard does not span components',
    { ArnLike: { 'aws:SourceArn': 'arn:aws:*' } },
    { 'aws:SourceArn': 'arn:aws:s3:::b' },
    true,
  ],
  [
    'ArnLike resource with colons',
    { ArnLike: { 'aws:SourceArn': 'arn:aws:logs:us-east-1:111122223333:log-group:*' } },
    { 'aws:SourceArn': 'arn:aws:logs:us-east-1:111122223333:log-group:g:x' },
    true,
  ],
  [
    'ArnNotEquals',
    { ArnNotEquals: { 'aws:SourceArn': 'arn:aws:s3:::a' } },
    { 'aws:SourceArn': 'arn:aws:s3:::b' },
    true,
  ],
  ['ArnNotLike missing → true', { ArnNotLike: { 'aws:SourceArn': 'arn:aws:s3:::a' } }, {}, true],
  ['Null true: absent', { Null: { 'k:a': 'true' } }, {}, true],
  ['Null true: present', { Null: { 'k:a': 'true' } }, { 'k:a': 'x' }, false],
  ['Null false: present', { Null: { 'k:a': 'false' } }, { 'k:a': 'x' }, true],
  ['Null false: absent', { Null: { 'k:a': false } }, {}, false],
  [
    'ForAnyValue: one matches',
    { 'ForAnyValue:StringEquals': { 'k:s': ['a', 'b'] } },
    { 'k:s': ['z', 'b'] },
    true,
  ],
  [
    'ForAnyValue: none match',
    { 'ForAnyValue:StringEquals': { 'k:s': ['a'] } },
    { 'k:s': ['z'] },
    false,
  ],
  ['ForAnyValue: missing → false', { 'ForAnyValue:StringEquals': { 'k:s': ['a'] } }, {}, false],
  [
    'ForAnyValue: empty → false',
    { 'ForAnyValue:StringEquals': { 'k:s': ['a'] } },
    { 'k:s': [] },
    false,
  ],
  [
    'ForAnyValue negated: missing → false',
    { 'ForAnyValue:StringNotEquals': { 'k:s': ['a'] } },
    {},
    false,
  ],
  [
    'ForAnyValue negated: some value outside',
    { 'ForAnyValue:StringNotEquals': { 'k:s': ['a'] } },
    { 'k:s': ['a', 'b'] },
    true,
  ],
  [
    'ForAnyValue negated: all inside',
    { 'ForAnyValue:StringNotEquals': { 'k:s': ['a', 'b'] } },
    { 'k:s': ['a', 'b'] },
    false,
  ],
  [
    'ForAnyValue:StringLike',
    { 'ForAnyValue:StringLike': { 'k:s': 'pre*' } },
    { 'k:s': ['x', 'prefix'] },
    true,
  ],
  [
    'ForAnyValue IfExists missing → true',
    { 'ForAnyValue:StringEqualsIfExists': { 'k:s': 'a' } },
    {},
    true,
  ],
  [
    'ForAllValues: subset',
    { 'ForAllValues:StringEquals': { 'k:s': ['a', 'b', 'c'] } },
    { 'k:s': ['a', 'c'] },
    true,
  ],
  [
    'ForAllValues: one outside',
    { 'ForAllValues:StringEquals': { 'k:s': ['a', 'b'] } },
    { 'k:s': ['a', 'z'] },
    false,
  ],
  ['ForAllValues: missing → true', { 'ForAllValues:StringEquals': { 'k:s': ['a'] } }, {}, true],
  [
    'ForAllValues: empty → true',
    { 'ForAllValues:StringEquals': { 'k:s': ['a'] } },
    { 'k:s': [] },
    true,
  ],
  [
    'ForAllValues negated: none inside',
    { 'ForAllValues:StringNotEquals': { 'k:s': ['a'] } },
    { 'k:s': ['b', 'c'] },
    true,
  ],
  [
    'ForAllValues negated: one inside',
    { 'ForAllValues:StringNotEquals': { 'k:s': ['a'] } },
    { 'k:s': ['b', 'a'] },
    false,
  ],
  [
    'ForAllValues negated: missing → true',
    { 'ForAllValues:StringNotLike': { 'k:s': ['a*'] } },
    {},
    true,
  ],
  [
    'unqualified operator on multi-valued key: any',
    { StringEquals: { 'k:s': 'b' } },
    { 'k:s': ['a', 'b'] },
    true,
  ],
  [
    'variable ${aws:username}',
    { StringEquals: { 'k:owner': '${aws:username}' } },
    { 'k:owner': 'alice', 'aws:username': 'alice' },
    true,
  ],
  [
    'variable absent → value matches nothing',
    { StringEquals: { 'k:owner': '${aws:username}' } },
    { 'k:owner': 'alice' },
    false,
  ],
  [
    'variable default',
    { StringEquals: { 'k:owner': "${aws:username, 'nobody'}" } },
    { 'k:owner': 'nobody' },
    true,
  ],
  [
    'variable PrincipalTag in StringLike',
    { StringLike: { 'k:p': 'team/${aws:PrincipalTag/team}/*' } },
    { 'k:p': 'team/pay/x', 'aws:PrincipalTag/team': 'pay' },
    true,
  ],
  [
    'variable value is literal in StringLike',
    { StringLike: { 'k:p': '${aws:username}' } },
    { 'k:p': 'abc', 'aws:username': 'a*' },
    false,
  ],
  ['${*} is a literal asterisk', { StringLike: { 'k:p': 'a${*}b' } }, { 'k:p': 'a*b' }, true],
  ['${*} does not act as wildcard', { StringLike: { 'k:p': 'a${*}b' } }, { 'k:p': 'axb' }, false],
  ['${?} and ${$}', { StringEquals: { 'k:p': '${?}${$}' } }, { 'k:p': '?$' }, true],
  [
    'ArnLike with variable',
    { ArnLike: { 'aws:PrincipalArn': 'arn:aws:iam::*:user/${aws:username}' } },
    { 'aws:PrincipalArn': 'arn:aws:iam::1:user/bob', 'aws:username': 'bob' },
    true,
  ],
];

describe('condition operators', () => {
  for (const [name, cond, ctx, expected] of cases) {
    it(name, () => assert.equal(holds(cond, ctx), expected));
  }
  it('variables are literal text in 2008-10-17 policies', () => {
    assert.equal(
      holds(
        { StringEquals: { 'k:a': '${aws:username}' } },
        { 'k:a': '${aws:username}', 'aws:username': 'x' },
        '2008-10-17',
      ),
      true,
    );
  });
  it('reports per-clause results for explanations', () => {
    const doc = parsePolicy(
      '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"a:b":"x"},"Null":{"c:d":"true"}}}}',
      'identity',
    );
    const r = evaluateConditions(
      doc.statements[0]?.conditions ?? [],
      buildContext({ 'A:B': 'y' }),
      true,
    );
    assert.equal(r.ok, false);
    assert.deepEqual(
      r.results.map((x) => [x.operator, x.key, x.result]),
      [
        ['StringEquals', 'a:b', false],
        ['Null', 'c:d', true],
      ],
    );
  });
});

describe('CIDR parsing', () => {
  it('rejects invalid CIDRs', () => {
    for (const bad of [
      '300.1.1.1/8',
      '10.0.0.0/33',
      '1.2.3',
      '2001:db8::/129',
      '2001:db8:::1',
      'x/1',
      '1:2:3:4:5:6:7:8:9',
    ])
      assert.equal(parseCidr(bad), undefined, bad);
  });
  it('accepts IPv4-mapped IPv6 and ::', () => {
    const c = parseCidr('::ffff:0:0/96');
    assert.ok(c !== undefined);
    assert.equal(cidrContains(c, '::ffff:192.0.2.1'), true);
    assert.ok(parseCidr('::') !== undefined);
    assert.equal(cidrContains(parseCidr('0.0.0.0/0') ?? assert.fail(), '255.255.255.255'), true);
  });
});
