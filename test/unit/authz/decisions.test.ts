/**
 * Table-driven KMS authorization decisions from test/fixtures/authz/decisions.json. Each case
 * carries the AWS-documented outcome and a `why` citing the rule.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  accessDeniedMessage,
  decide,
  type DecisionGrant,
  type DecisionInput,
  type DecisionPrincipal,
} from '../../../src/authz/policy/decide.js';
import { parsePolicy } from '../../../src/authz/policy/document.js';

interface Case {
  name: string;
  principal: string;
  action: string;
  keyPolicy: string | null;
  keyAccount?: string;
  identityPolicies: string[];
  grants: DecisionGrant[];
  context: DecisionInput['context'];
  encryptionContext?: Record<string, string>;
  expect: 'allow' | 'explicit-deny' | 'implicit-deny';
  deniedBy?: 'resource-policy' | 'identity-policy';
  why: string;
}

interface Fixture {
  key: string;
  principals: Record<string, DecisionPrincipal>;
  keyPolicies: Record<string, unknown>;
  identityPolicies: Record<string, unknown>;
  cases: Case[];
}

const fixture = JSON.parse(
  readFileSync(new URL('../../../../test/fixtures/authz/decisions.json', import.meta.url), 'utf8'),
) as Fixture;

function must<T>(v: T | undefined, what: string): T {
  if (v === undefined) throw new Error(`fixture references unknown ${what}`);
  return v;
}

function inputOf(c: Case): DecisionInput {
  const input: DecisionInput = {
    principal: must(fixture.principals[c.principal], `principal ${c.principal}`),
    action: c.action,
    identityPolicies: c.identityPolicies.map((n) =>
      parsePolicy(
        JSON.stringify(must(fixture.identityPolicies[n], `identity policy ${n}`)),
        'identity',
      ),
    ),
    grants: c.grants,
    context: c.context,
  };
  if (c.keyPolicy !== null) {
    const doc = must(fixture.keyPolicies[c.keyPolicy], `key policy ${c.keyPolicy}`);
    input.resource = {
      arn: fixture.key,
      accountId: must(c.keyAccount, 'keyAccount'),
      keyPolicy: parsePolicy(JSON.stringify(doc), 'key'),
    };
  }
  if (c.encryptionContext !== undefined) input.encryptionContext = c.encryptionContext;
  return input;
}

describe('KMS decisions (fixture)', () => {
  it('has at least 150 cases with unique names', () => {
    assert.ok(fixture.cases.length >= 150, `only ${fixture.cases.length} cases`);
    assert.equal(new Set(fixture.cases.map((c) => c.name)).size, fixture.cases.length);
  });

  for (const c of fixture.cases) {
    it(`${c.name} → ${c.expect}${c.deniedBy ? ` (${c.deniedBy})` : ''}`, () => {
      const input = inputOf(c);
      const d = decide(input);
      const explain = JSON.stringify(d.reasons, null, 1);
      assert.equal(d.kind, c.expect, `why: ${c.why}\n${explain}`);
      assert.equal(d.allowed, c.expect === 'allow');
      if (c.expect !== 'allow') {
        assert.equal(d.deniedBy, c.deniedBy, `why: ${c.why}\n${explain}`);
        const msg = accessDeniedMessage(input, d);
        assert.match(
          msg,
          /^User: arn:aws:(iam|sts)::\d{12}:\S+ is not authorized to perform: kms:\w+ on resource: \S+ /,
        );
      }
    });
  }
});

describe('accessDeniedMessage wording', () => {
  const base = (): DecisionInput => ({
    principal: {
      arn: 'arn:aws:iam::111122223333:user/alice',
      accountId: '111122223333',
      type: 'IAMUser',
      userId: 'AIDA',
    },
    action: 'kms:Decrypt',
    resource: {
      arn: 'arn:aws:kms:us-east-1:111122223333:key/k',
      accountId: '111122223333',
      keyPolicy: parsePolicy(
        '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"kms:*","Resource":"*"}]}',
        'key',
      ),
    },
    identityPolicies: [],
    grants: [],
    context: {},
  });
  it('explicit deny in a resource-based policy', () => {
    const input = base();
    assert.equal(
      accessDeniedMessage(input, decide(input)),
      'User: arn:aws:iam::111122223333:user/alice is not authorized to perform: kms:Decrypt on resource: arn:aws:kms:us-east-1:111122223333:key/k with an explicit deny in a resource-based policy',
    );
  });
  it('no identity-based policy allows, for account-level actions', () => {
    const input: DecisionInput = { ...base(), action: 'kms:ListKeys' };
    delete input.resource;
    assert.equal(
      accessDeniedMessage(input, decide(input)),
      'User: arn:aws:iam::111122223333:user/alice is not authorized to perform: kms:ListKeys on resource: * because no identity-based policy allows the kms:ListKeys action',
    );
  });
  it('identity-only decision on an alias ARN (resourceArn)', () => {
    const alias = 'arn:aws:kms:us-east-1:111122223333:alias/app';
    const input: DecisionInput = { ...base(), action: 'kms:CreateAlias', resourceArn: alias };
    delete input.resource;
    input.identityPolicies = [
      parsePolicy(
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:CreateAlias","Resource":"arn:aws:kms:*:111122223333:alias/app*"}]}',
        'identity',
      ),
    ];
    assert.equal(decide(input).allowed, true);
    const other: DecisionInput = { ...input, resourceArn: `${alias}-x`.replace('app', 'db') };
    const d = decide(other);
    assert.equal(d.kind, 'implicit-deny');
    assert.match(
      accessDeniedMessage(other, d),
      /on resource: arn:aws:kms:us-east-1:111122223333:alias\/db-x because no identity-based policy allows/,
    );
  });
});
