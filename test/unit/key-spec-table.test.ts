/**
 * The table the server and the web console share: it is the one the server uses, its
 * alias rules are the model's, it offers the console every spec and usage the server
 * creates, and it has no imports (the web build bundles it).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { KMS_MODEL } from '../../src/protocol/model/kms-model.js';
import * as table from '../../src/kms/key-spec-table.js';
import { KEY_SPECS } from '../../src/kms/keys/key-specs.js';

describe('shared key spec table', () => {
  it('is the table the server uses', () => {
    assert.equal(KEY_SPECS, table.KEY_SPECS);
  });

  it('imports nothing, so the web console can bundle it', () => {
    const src = readFileSync(
      new URL('../../../src/kms/key-spec-table.ts', import.meta.url),
      'utf8',
    );
    assert.doesNotMatch(src, /^\s*import\s/m);
    assert.doesNotMatch(src, /require\(/);
  });

  it('offers every spec and usage the server can create, including Ed25519, ML-DSA and key agreement', () => {
    const offered = new Set<string>();
    for (const usage of table.KEY_USAGES)
      for (const symmetric of [true, false])
        for (const spec of table.specsForUsage(usage, symmetric)) offered.add(`${spec}/${usage}`);
    const creatable = Object.entries(KEY_SPECS)
      .filter(([, i]) => i.supported)
      .flatMap(([spec, i]) => Object.keys(i.algorithms).map((u) => `${spec}/${u}`));
    assert.deepEqual([...offered].sort(), creatable.sort());
    assert.ok(offered.has('ECC_NIST_EDWARDS25519/SIGN_VERIFY'));
    assert.deepEqual(table.specsForUsage('KEY_AGREEMENT', false), [
      'ECC_NIST_P256',
      'ECC_NIST_P384',
      'ECC_NIST_P521',
    ]);
    assert.deepEqual(table.specsForUsage('ENCRYPT_DECRYPT', true), ['SYMMETRIC_DEFAULT']);
    assert.deepEqual(table.specsForUsage('SIGN_VERIFY', true), []);
    assert.ok(table.specsForUsage('SIGN_VERIFY', false).includes('ML_DSA_44'), 'ML-DSA is offered');
    assert.ok(!table.specsForUsage('SIGN_VERIFY', false).includes('SM2'), 'SM2 is not');
  });

  it("has the model's alias name length and pattern, without the ':' AWS refuses", () => {
    const shape = KMS_MODEL.shapes['AliasNameType'] as { max?: number; pattern?: string };
    assert.equal(table.ALIAS_NAME.maxLength, shape.max);
    assert.equal(table.ALIAS_NAME.pattern.source, shape.pattern?.replace(':', ''));
  });

  it('explains each alias name it refuses, and accepts good ones', () => {
    assert.equal(table.aliasNameProblem('alias/orders/prod'), undefined);
    assert.equal(table.aliasNameProblem('alias/a/b_c-d'), undefined);
    assert.match(table.aliasNameProblem('alias/a:b') ?? '', /letters, digits/);
    assert.equal(table.aliasNameProblem(`alias/${'x'.repeat(250)}`), undefined);
    assert.match(table.aliasNameProblem('orders') ?? '', /starts with "alias\/"/);
    assert.match(table.aliasNameProblem('alias/') ?? '', /starts with "alias\/"/);
    assert.match(table.aliasNameProblem(`alias/${'x'.repeat(251)}`) ?? '', /at most 256/);
    assert.match(table.aliasNameProblem('alias/has space') ?? '', /letters, digits/);
    assert.match(table.aliasNameProblem('alias/aws/mine') ?? '', /reserved/);
  });
});
