/**
 * A throwaway PKI for tests, made with the `openssl` CLI in a temp dir: a CA, a server
 * certificate for localhost / 127.0.0.1 (SANs), and a client certificate for mTLS (subject
 * CN as AWS KMS presents it: cks.kms.<Region>.amazonaws.com). Call `issueClient` for more
 * client certificates, or `createTestPki()` again for an unrelated CA.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface CertFiles {
  certPath: string;
  keyPath: string;
  certPem: string;
  keyPem: string;
}

export interface TestPki {
  dir: string;
  /** The CA certificate (trust anchor for clients, and the mTLS client CA). */
  caPem: string;
  caPath: string;
  server: CertFiles;
  /** A client certificate signed by this CA with subject CN `clientCn`. */
  client: CertFiles & { cn: string };
  /** Issue another client certificate (e.g. with a subject the proxy does not allow). */
  issueClient(cn: string, opts?: { days?: number }): CertFiles;
  cleanup(): void;
}

export interface TestPkiOptions {
  /** 'ec' (P-256, → ECDHE-ECDSA suites) or 'rsa' (2048, → ECDHE-RSA suites). Default 'ec'. */
  keyType?: 'ec' | 'rsa';
  /** Server certificate SANs; default DNS:localhost, IP:127.0.0.1. */
  serverNames?: string[];
  clientCn?: string;
}

export function createTestPki(opts: TestPkiOptions = {}): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'keyhold-pki-'));
  const keyType = opts.keyType ?? 'ec';
  const keyArgs =
    keyType === 'ec'
      ? ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256']
      : ['-newkey', 'rsa:2048'];
  const p = (name: string) => join(dir, name);
  const ssl = (args: string[]) =>
    execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });

  ssl([
    'req',
    '-x509',
    ...keyArgs,
    '-nodes',
    '-keyout',
    p('ca.key'),
    '-out',
    p('ca.pem'),
    '-days',
    '2',
    '-subj',
    '/CN=keyhold test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);

  let serial = 1;
  const issue = (name: string, cn: string, ext: string, days: number): CertFiles => {
    ssl([
      'req',
      ...keyArgs,
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
      '-CA',
      p('ca.pem'),
      '-CAkey',
      p('ca.key'),
      '-set_serial',
      String(serial++),
      '-days',
      String(days),
      '-extfile',
      p(`${name}.ext`),
      '-out',
      p(`${name}.pem`),
    ]);
    return {
      certPath: p(`${name}.pem`),
      keyPath: p(`${name}.key`),
      certPem: readFileSync(p(`${name}.pem`), 'utf8'),
      keyPem: readFileSync(p(`${name}.key`), 'utf8'),
    };
  };

  const names = opts.serverNames ?? ['DNS:localhost', 'IP:127.0.0.1'];
  const server = issue(
    'server',
    'localhost',
    `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=${names.join(',')}\n`,
    2,
  );
  const clientCn = opts.clientCn ?? 'cks.kms.us-east-1.amazonaws.com';
  const clientExt = `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n`;
  const client = { ...issue('client', clientCn, clientExt, 2), cn: clientCn };
  let n = 0;
  return {
    dir,
    caPem: readFileSync(p('ca.pem'), 'utf8'),
    caPath: p('ca.pem'),
    server,
    client,
    issueClient: (cn, o = {}) => issue(`client-${++n}`, cn, clientExt, o.days ?? 2),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
