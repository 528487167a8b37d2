/** Monotonicity properties of `decide` (fast-check). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  decide,
  type DecisionGrant,
  type DecisionInput,
  type DecisionPrincipal,
} from '../../../src/authz/policy/decide.js';
import { parsePolicy } from '../../../src/authz/policy/document.js';

const A = '111122223333';
const B = '444455556666';
const KEY = `arn:aws:kms:us-east-1:${A}:key/k1`;
const principals: DecisionPrincipal[] = [
  {
    arn: `arn:aws:iam::${A}:user/alice`,
    accountId: A,
    type: 'IAMUser',
    userId: 'U1',
    username: 'alice',
  },
  { arn: `arn:aws:iam::${A}:root`, accountId: A, type: 'Root', userId: A },
  {
    arn: `arn:aws:sts::${A}:assumed-role/App/s`,
    accountId: A,
    type: 'AssumedRole',
    userId: 'R1:s',
    roleArn: `arn:aws:iam::${A}:role/App`,
  },
  {
    arn: `arn:aws:iam::${B}:user/carol`,
    accountId: B,
    type: 'IAMUser',
    userId: 'U2',
    username: 'carol',
  },
];
const actions = [
  'kms:Decrypt',
  'kms:Encrypt',
  'kms:CreateGrant',
  'kms:ScheduleKeyDeletion',
  'kms:DescribeKey',
];
const principalRefs = [
  '*',
  `arn:aws:iam::${A}:root`,
  `arn:aws:iam::${B}:root`,
  ...principals.map((p) => p.roleArn ?? p.arn),
];
const actionPatterns = ['kms:*', 'kms:Decrypt', 'kms:Encrypt*', 'kms:*Grant', 'kms:Describe*'];
const conditions = [
  undefined,
  { StringEquals: { 'kms:EncryptionContext:dept': 'fin' } },
  { StringNotEquals: { 'kms:ViaService': 'ec2.us-east-1.amazonaws.com' } },
  { 'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': ['dept'] } },
  { IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } },
];

const statement = (withPrincipal: boolean) =>
  fc
    .record({
      Effect: fc.constantFrom('Allow', 'Deny'),
      principal: fc.subarray(principalRefs, { minLength: 1 }),
      notPrincipal: fc.boolean(),
      Action: fc.subarray(actionPatterns, { minLength: 1 }),
      notAction: fc.boolean(),
      Resource: fc.constantFrom(
        '*',
        KEY,
        `arn:aws:kms:*:${A}:key/*`,
        `arn:aws:kms:us-east-1:${A}:key/other`,
      ),
      Condition: fc.constantFrom(...conditions),
    })
    .map((s) => {
      const out: Record<string, unknown> = { Effect: s.Effect, Resource: s.Resource };
      out[s.notAction ? 'NotAction' : 'Action'] = s.Action;
      if (withPrincipal)
        out[s.notPrincipal ? 'NotPrincipal' : 'Principal'] = s.principal.includes('*')
          ? '*'
          : { AWS: s.principal };
      if (s.Condition !== undefined) out['Condition'] = s.Condition;
      return out;
    });

const grant: fc.Arbitrary<DecisionGrant> = fc
  .record({
    grantId: fc.constantFrom('g1', 'g2', 'g3'),
    granteePrincipal: fc.constantFrom(...principals.map((p) => p.roleArn ?? p.arn)),
    operations: fc.subarray(['Decrypt', 'Encrypt', 'CreateGrant', 'DescribeKey'], { minLength: 1 }),
    constraints: fc.option(fc.record({ encryptionContextSubset: fc.constant({ dept: 'fin' }) }), {
      nil: undefined,
    }),
  })
  .map((g) =>
    g.constraints === undefined
      ? { grantId: g.grantId, granteePrincipal: g.granteePrincipal, operations: g.operations }
      : g,
  );

const scenario = fc.record({
  principal: fc.constantFrom(...principals),
  action: fc.constantFrom(...actions),
  keyStatements: fc.array(statement(true), { minLength: 1, maxLength: 4 }),
  idStatements: fc.array(statement(false), { maxLength: 3 }),
  grants: fc.array(grant, { maxLength: 2 }),
  context: fc.record({
    'kms:EncryptionContext:dept': fc.constantFrom(undefined, 'fin', 'ops'),
    'kms:EncryptionContextKeys': fc.constantFrom<string[] | undefined>(
      undefined,
      ['dept'],
      ['dept', 'x'],
    ),
    'kms:ViaService': fc.constantFrom(undefined, 'ec2.us-east-1.amazonaws.com'),
    'aws:SourceIp': fc.constantFrom(undefined, '10.1.1.1', '192.0.2.1'),
  }),
});
type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

const doc = (statements: Record<string, unknown>[], kind: 'key' | 'identity') =>
  parsePolicy(JSON.stringify({ Version: '2012-10-17', Statement: statements }), kind);

function toInput(s: Scenario): DecisionInput {
  const ec = s.context['kms:EncryptionContext:dept'];
  return {
    principal: s.principal,
    action: s.action,
    resource: { arn: KEY, accountId: A, keyPolicy: doc(s.keyStatements, 'key') },
    identityPolicies: s.idStatements.length ? [doc(s.idStatements, 'identity')] : [],
    grants: s.grants,
    context: s.context,
    ...(ec !== undefined ? { encryptionContext: { dept: ec } } : {}),
  };
}

const RUNS = { numRuns: 400 };

describe('decide: monotonicity properties', () => {
  it('adding an explicit Deny statement never turns deny into allow', () => {
    fc.assert(
      fc.property(scenario, statement(true), fc.boolean(), (s, extra, toKey) => {
        const before = decide(toInput(s)).allowed;
        const deny = { ...extra, Effect: 'Deny' };
        const changed: Scenario = toKey
          ? { ...s, keyStatements: [...s.keyStatements, deny] }
          : {
              ...s,
              idStatements: [
                ...s.idStatements,
                Object.fromEntries(Object.entries(deny).filter(([k]) => !/Principal/.test(k))),
              ],
            };
        if (!before) assert.equal(decide(toInput(changed)).allowed, false);
      }),
      RUNS,
    );
  });

  it('removing an Allow statement never turns deny into allow', () => {
    fc.assert(
      fc.property(scenario, fc.nat(), fc.boolean(), (s, pick, fromKey) => {
        const list = fromKey ? s.keyStatements : s.idStatements;
        const allows = list
          .map((st, i) => [st, i] as const)
          .filter(([st]) => st['Effect'] === 'Allow');
        const chosen = allows[pick % Math.max(allows.length, 1)];
        if (chosen === undefined || (fromKey && list.length === 1)) return;
        const rest = list.filter((_, i) => i !== chosen[1]);
        const changed: Scenario = fromKey
          ? { ...s, keyStatements: rest }
          : { ...s, idStatements: rest };
        if (!decide(toInput(s)).allowed) assert.equal(decide(toInput(changed)).allowed, false);
      }),
      RUNS,
    );
  });

  it('adding a grant never turns allow into deny', () => {
    fc.assert(
      fc.property(scenario, grant, (s, g) => {
        if (decide(toInput(s)).allowed)
          assert.equal(decide(toInput({ ...s, grants: [...s.grants, g] })).allowed, true);
      }),
      RUNS,
    );
  });

  it('decide is deterministic and explains every allow', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const a = decide(toInput(s));
        assert.deepEqual(decide(toInput(s)), a);
        if (a.allowed) assert.ok(a.reasons.some((r) => r.matched));
      }),
      RUNS,
    );
  });
});
