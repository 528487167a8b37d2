/**
 * The handshake gate's own client-certificate check (src/xks-proxy/client-cert-check.ts) on
 * certificates made with the `openssl` CLI: a chain through an intermediate CA (how AWS KMS's
 * client certificate reaches the Amazon roots), and the refusals — expired leaf, expired or
 * non-CA intermediate, another CA, serverAuth-only usage, subject not allowed.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { X509Certificate } from 'node:crypto';
import {
  clientChainProblem,
  parseCaBundle,
  type ClientCertPolicy,
} from '../../src/xks-proxy/client-cert-check.js';

const CN = 'cks.kms.us-east-1.amazonaws.com';
let dir: string;
const ssl = (args: string[]) =>
  execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
const der = (name: string) => new X509Certificate(readFileSync(join(dir, `${name}.pem`))).raw;

/** A key and a certificate `name` for `cn`, signed by `issuer` (or self-signed). */
function cert(name: string, cn: string, ext: string, issuer?: string, days = 2): void {
  const p = (n: string) => join(dir, n);
  ssl([
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    p(`${name}.key`),
    '-out',
    p(`${name}.csr`),
    '-subj',
    `/CN=${cn}`,
  ]);
  writeFileSync(p(`${name}.ext`), ext);
  ssl([
    'x509',
    '-req',
    '-in',
    p(`${name}.csr`),
    '-days',
    String(days),
    '-extfile',
    p(`${name}.ext`),
    '-out',
    p(`${name}.pem`),
    ...(issuer === undefined
      ? ['-signkey', p(`${name}.key`)]
      : [
          '-CA',
          p(`${issuer}.pem`),
          '-CAkey',
          p(`${issuer}.key`),
          '-set_serial',
          String(Math.floor(Math.random() * 1e9)),
        ]),
  ]);
}

const CA = 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n';
const CLIENT =
  'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n';
const SERVER =
  'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n';

describe('mTLS client certificate check', () => {
  let policy: ClientCertPolicy;
  let now: Date;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'keyhold-certcheck-'));
    cert('root', 'root CA', CA);
    cert('other', 'other CA', CA);
    cert('inter', 'intermediate CA', CA, 'root');
    cert('oldinter', 'expired intermediate', CA, 'root', -1);
    cert('notca', 'not a CA', CLIENT, 'root');
    cert('leaf', CN, CLIENT, 'inter');
    cert('leafold', CN, CLIENT, 'oldinter');
    cert('leafnotca', CN, CLIENT, 'notca');
    cert('direct', CN, CLIENT, 'root');
    cert('expired', CN, CLIENT, 'root', -1);
    cert('stranger', CN, CLIENT, 'other');
    cert('server', CN, SERVER, 'root');
    cert('eu', 'cks.kms.eu-west-1.amazonaws.com', CLIENT, 'root');
    // Two roots in one CA file: the configured one and an unrelated one.
    const bundle = `${readFileSync(join(dir, 'root.pem'), 'utf8')}\n${readFileSync(join(dir, 'notca.pem'), 'utf8')}`;
    policy = { trust: parseCaBundle(bundle), allowedSubjects: [CN] };
    // After the certificates were made (their notBefore is the second they were signed).
    now = new Date(Date.now() + 1000);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reads every certificate of a CA bundle', () => {
    assert.equal(policy.trust.length, 2);
  });
  it('accepts a leaf signed by the CA, and one through an intermediate the client sends', () => {
    assert.equal(clientChainProblem([der('direct')], policy, now), undefined);
    assert.equal(clientChainProblem([der('leaf'), der('inter')], policy, now), undefined);
  });
  it('refuses a leaf whose intermediate is missing, expired or not a CA', () => {
    assert.match(clientChainProblem([der('leaf')], policy, now) ?? '', /does not chain/);
    assert.match(
      clientChainProblem([der('leafold'), der('oldinter')], policy, now) ?? '',
      /intermediate/,
    );
    // A signer without CA:TRUE / keyCertSign is no issuer at all (OpenSSL's check_issued).
    const notCaPolicy = { ...policy, trust: policy.trust.slice(0, 1) };
    assert.notEqual(
      clientChainProblem([der('leafnotca'), der('notca')], notCaPolicy, now),
      undefined,
    );
  });
  it('refuses expired, self-signed, other-CA, serverAuth-only and not-allowed certificates', () => {
    assert.match(clientChainProblem([der('expired')], policy, now) ?? '', /expired/);
    assert.match(
      clientChainProblem([der('other')], { ...policy, trust: policy.trust.slice(0, 1) }, now) ?? '',
      /does not chain/,
    );
    assert.match(clientChainProblem([der('stranger')], policy, now) ?? '', /does not chain/);
    assert.match(clientChainProblem([der('server')], policy, now) ?? '', /client authentication/);
    assert.match(clientChainProblem([der('eu')], policy, now) ?? '', /subject not allowed/);
    assert.equal(
      clientChainProblem([der('eu')], { ...policy, allowedSubjects: undefined }, now),
      undefined,
    );
    assert.match(
      clientChainProblem([Buffer.from('not a certificate')], policy, now) ?? '',
      /unparsable/,
    );
    // Valid today, not any more in three days.
    assert.match(
      clientChainProblem([der('direct')], policy, new Date(now.getTime() + 3 * 86_400_000)) ?? '',
      /expired/,
    );
  });
});
