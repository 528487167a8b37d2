/**
 * The proxy's TLS: TLS 1.2+ only, only the four cipher suites the spec lists, and mTLS
 * (client CA and allowed subject) when configured. Probed with Node's TLS client offering one
 * version / one suite at a time, and with curl as AWS's XKS test client runs it: a bad client
 * certificate must end the handshake with a handshake_failure alert, not a reset.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type ConnectionOptions } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { createTestPki, type TestPki } from '../helpers/tls.js';
import { startTestXksProxy, type TestXksProxy } from '../helpers/xks-proxy.js';

const health = { requestMetadata: { kmsRequestId: 'r', kmsOperation: 'KmsHealthCheck' } };

/** Run curl without blocking the event loop (the proxy runs in this process). */
function curl(args: string[]): Promise<{ code: number; text: string }> {
  return new Promise((resolve) => {
    execFile('curl', args, { timeout: 10_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
      resolve({ code, text: `${stdout}${stderr}` });
    });
  });
}

/** Handshake and report the negotiated protocol/cipher, or the error. */
function handshake(
  port: number,
  opts: ConnectionOptions,
): Promise<{ ok: true; protocol: string; cipher: string } | { ok: false; error: string }> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port, servername: 'localhost', ...opts });
    s.once('secureConnect', () => {
      // With TLS 1.3 the server checks the client certificate after the client's handshake
      // is done: wait a moment for the server to close the connection.
      const info = {
        ok: true as const,
        protocol: s.getProtocol() ?? '',
        cipher: s.getCipher().standardName,
      };
      let closed = false;
      s.once('close', () => {
        closed = true;
      });
      s.write('POST / HTTP/1.1\r\nhost: localhost\r\ncontent-length: 0\r\n\r\n');
      s.once('data', () => {
        s.destroy();
        resolve(info);
      });
      setTimeout(() => {
        s.destroy();
        resolve(closed ? { ok: false, error: 'closed by server after handshake' } : info);
      }, 2000);
    });
    s.once('error', (e: Error) => resolve({ ok: false, error: e.message }));
  });
}

describe('xks-proxy TLS versions and cipher suites', () => {
  let ec: TestXksProxy;
  let rsa: TestXksProxy;
  let rsaPki: TestPki;
  before(async () => {
    ec = await startTestXksProxy();
    rsaPki = createTestPki({ keyType: 'rsa' });
    rsa = await startTestXksProxy({ pki: rsaPki });
  });
  after(async () => {
    await ec.stop();
    await rsa.stop();
    rsaPki.cleanup();
  });

  it('TLS 1.1 is refused by the server (protocol version alert)', async () => {
    const r = await handshake(ec.port, {
      ca: ec.caPem,
      minVersion: 'TLSv1',
      maxVersion: 'TLSv1.1',
      ciphers: 'DEFAULT@SECLEVEL=0',
    });
    assert.equal(r.ok, false);
    assert.match(
      (r as { error: string }).error,
      /protocol version|unsupported protocol|no protocols available/i,
    );
  });
  it('TLS 1.0 is refused', async () => {
    const r = await handshake(ec.port, {
      ca: ec.caPem,
      minVersion: 'TLSv1',
      maxVersion: 'TLSv1',
      ciphers: 'DEFAULT@SECLEVEL=0',
    });
    assert.equal(r.ok, false);
  });
  it('TLS 1.2 with ECDHE-ECDSA-AES256-GCM-SHA384 (EC certificate) is accepted', async () => {
    const r = await handshake(ec.port, {
      ca: ec.caPem,
      maxVersion: 'TLSv1.2',
      ciphers: 'ECDHE-ECDSA-AES256-GCM-SHA384',
    });
    assert.deepEqual(r, {
      ok: true,
      protocol: 'TLSv1.2',
      cipher: 'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384',
    });
  });
  it('TLS 1.2 with ECDHE-RSA-AES256-GCM-SHA384 (RSA certificate) is accepted', async () => {
    const r = await handshake(rsa.port, {
      ca: rsa.caPem,
      maxVersion: 'TLSv1.2',
      ciphers: 'ECDHE-RSA-AES256-GCM-SHA384',
    });
    assert.deepEqual(r, {
      ok: true,
      protocol: 'TLSv1.2',
      cipher: 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
    });
  });
  for (const suite of [
    'ECDHE-ECDSA-AES128-GCM-SHA256',
    'ECDHE-ECDSA-CHACHA20-POLY1305',
    'ECDHE-ECDSA-AES256-SHA384',
  ]) {
    it(`TLS 1.2 with only ${suite} (not in the spec's list) is refused`, async () => {
      const r = await handshake(ec.port, { ca: ec.caPem, maxVersion: 'TLSv1.2', ciphers: suite });
      assert.equal(r.ok, false);
      assert.match((r as { error: string }).error, /handshake failure|no shared cipher/i);
    });
  }
  for (const suite of ['ECDHE-RSA-AES128-GCM-SHA256', 'AES256-GCM-SHA384']) {
    it(`TLS 1.2 with only ${suite} on the RSA proxy is refused`, async () => {
      const r = await handshake(rsa.port, { ca: rsa.caPem, maxVersion: 'TLSv1.2', ciphers: suite });
      assert.equal(r.ok, false);
    });
  }
  for (const suite of ['TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256']) {
    it(`TLS 1.3 with ${suite} is accepted`, async () => {
      const r = await handshake(ec.port, { ca: ec.caPem, minVersion: 'TLSv1.3', ciphers: suite });
      assert.deepEqual(r, { ok: true, protocol: 'TLSv1.3', cipher: suite });
    });
  }
  it('TLS 1.3 with only TLS_AES_128_GCM_SHA256 is refused', async () => {
    const r = await handshake(ec.port, {
      ca: ec.caPem,
      minVersion: 'TLSv1.3',
      ciphers: 'TLS_AES_128_GCM_SHA256',
    });
    assert.equal(r.ok, false);
  });
  it('the certificate names localhost and 127.0.0.1, nothing else', async () => {
    assert.equal((await ec.call('health', health)).status, 200);
    assert.equal((await handshake(ec.port, { ca: ec.caPem, servername: 'localhost' })).ok, true);
    const r = await handshake(ec.port, { ca: ec.caPem, servername: 'not-localhost.example' });
    assert.equal(r.ok, false);
    assert.match((r as { error: string }).error, /altnames|Hostname/i);
  });
  it('an unknown CA is refused by the client (the proxy certificate is verified)', async () => {
    const other = createTestPki();
    try {
      const r = await handshake(ec.port, { ca: other.caPem });
      assert.equal(r.ok, false);
    } finally {
      other.cleanup();
    }
  });
});

describe('xks-proxy mTLS', () => {
  let x: TestXksProxy;
  let other: TestPki;
  before(async () => {
    x = await startTestXksProxy({ mtls: true });
    other = createTestPki();
  });
  after(async () => {
    await x.stop();
    other.cleanup();
  });

  it('the configured client certificate (CN cks.kms.us-east-1.amazonaws.com) gets through', async () => {
    const r = await x.call('health', health, {
      cert: x.pki.client.certPem,
      key: x.pki.client.keyPem,
    });
    assert.equal(r.status, 200, r.text);
  });
  for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
    it(`${version}: no client certificate → refused`, async () => {
      const r = await handshake(x.port, { ca: x.caPem, minVersion: version, maxVersion: version });
      assert.equal(r.ok, false, JSON.stringify(r));
    });
    it(`${version}: a client certificate from another CA → refused`, async () => {
      const r = await handshake(x.port, {
        ca: x.caPem,
        minVersion: version,
        maxVersion: version,
        cert: other.client.certPem,
        key: other.client.keyPem,
      });
      assert.equal(r.ok, false, JSON.stringify(r));
    });
    it(`${version}: the right CA but a subject not allowed → refused`, async () => {
      const wrong = x.pki.issueClient('cks.kms.eu-west-1.amazonaws.com');
      const r = await handshake(x.port, {
        ca: x.caPem,
        minVersion: version,
        maxVersion: version,
        cert: wrong.certPem,
        key: wrong.keyPem,
      });
      assert.equal(r.ok, false, JSON.stringify(r));
    });
  }
  // AWS's XKS test client (test_negative_mtls) runs `curl -v` with an expired and a
  // self-signed client certificate and expects "TLS alert, handshake failure".
  describe('a bad client certificate ends the handshake with a handshake_failure alert', () => {
    let bad: Record<string, { certPath: string; keyPath: string; certPem: string; keyPem: string }>;
    before(() => {
      const selfSigned = join(other.dir, 'self');
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:P-256',
          '-nodes',
          '-keyout',
          `${selfSigned}.key`,
          '-out',
          `${selfSigned}.pem`,
          '-days',
          '2',
          '-subj',
          `/CN=${x.pki.client.cn}`,
        ],
        { stdio: 'ignore' },
      );
      bad = {
        expired: x.pki.issueClient(x.pki.client.cn, { days: -1 }),
        'self-signed': {
          certPath: `${selfSigned}.pem`,
          keyPath: `${selfSigned}.key`,
          certPem: readFileSync(`${selfSigned}.pem`, 'utf8'),
          keyPem: readFileSync(`${selfSigned}.key`, 'utf8'),
        },
        'from another CA': other.client,
        'with a subject not allowed': x.pki.issueClient('cks.kms.eu-west-1.amazonaws.com'),
      };
    });
    for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
      for (const name of [
        'expired',
        'self-signed',
        'from another CA',
        'with a subject not allowed',
      ]) {
        it(`${version}: a client certificate ${name} → alert handshake failure (node tls)`, async () => {
          const c = bad[name] as { certPem: string; keyPem: string };
          const r = await handshake(x.port, {
            ca: x.caPem,
            minVersion: version,
            maxVersion: version,
            cert: c.certPem,
            key: c.keyPem,
          });
          assert.equal(r.ok, false, JSON.stringify(r));
          assert.match((r as { error: string }).error, /alert handshake failure/);
        });
      }
      for (const name of ['expired', 'self-signed']) {
        it(`${version}: curl -v with a client certificate ${name} prints "TLS alert, handshake failure"`, async () => {
          const c = bad[name] as { certPath: string; keyPath: string };
          const out = await curl([
            '-v',
            '-sS',
            '--cacert',
            x.pki.caPath,
            '--cert',
            c.certPath,
            '--key',
            c.keyPath,
            ...(version === 'TLSv1.2' ? ['--tlsv1.2', '--tls-max', '1.2'] : ['--tlsv1.3']),
            `https://localhost:${x.port}/ping`,
          ]);
          assert.notEqual(out.code, 0);
          assert.match(out.text, /\(IN\), TLS alert, handshake failure/);
          assert.doesNotMatch(out.text, /pong/);
        });
      }
      it(`${version}: curl with the configured client certificate gets through`, async () => {
        const out = await curl([
          '-sS',
          '--cacert',
          x.pki.caPath,
          '--cert',
          x.pki.client.certPath,
          '--key',
          x.pki.client.keyPath,
          ...(version === 'TLSv1.2' ? ['--tlsv1.2', '--tls-max', '1.2'] : ['--tlsv1.3']),
          `https://localhost:${x.port}/ping`,
        ]);
        assert.equal(out.code, 0, out.text);
        assert.match(out.text, /pong/);
      });
    }
    it('TLS 1.3 with TLS_CHACHA20_POLY1305_SHA256: refused with the alert, accepted with the right certificate', async () => {
      const opts = {
        ca: x.caPem,
        minVersion: 'TLSv1.3',
        ciphers: 'TLS_CHACHA20_POLY1305_SHA256',
      } as const;
      const refused = await handshake(x.port, {
        ...opts,
        cert: other.client.certPem,
        key: other.client.keyPem,
      });
      assert.match((refused as { error: string }).error, /alert handshake failure/);
      const ok = await handshake(x.port, {
        ...opts,
        cert: x.pki.client.certPem,
        key: x.pki.client.keyPem,
      });
      assert.equal(ok.ok, true, JSON.stringify(ok));
    });
  });

  it('TLS 1.2: an accepted client cannot renegotiate (a new certificate would go unchecked)', async () => {
    const s = connect({
      host: '127.0.0.1',
      port: x.port,
      servername: 'localhost',
      ca: x.caPem,
      maxVersion: 'TLSv1.2',
      cert: x.pki.client.certPem,
      key: x.pki.client.keyPem,
    });
    await new Promise<void>((resolve, reject) => {
      s.once('secureConnect', resolve);
      s.once('error', reject);
    });
    const outcome = await new Promise<string>((resolve) => {
      s.once('error', (e) => resolve(`error: ${e.message}`));
      s.once('close', () => resolve('closed'));
      const started = s.renegotiate({ rejectUnauthorized: true }, (err) =>
        resolve(err === null ? 'renegotiated' : `error: ${err.message}`),
      );
      if (!started) resolve('not started');
    });
    s.destroy();
    assert.notEqual(outcome, 'renegotiated');
  });

  it('a refused client never reaches the API (signed request rejected at the socket)', async () => {
    await assert.rejects(x.call('health', health));
  });
});
