/**
 * Interop with the `openssl` command line: keyhold signatures verify with `openssl dgst` /
 * `openssl pkeyutl` using the public key from GetPublicKey; data `openssl pkeyutl -encrypt`
 * makes with that key decrypts in keyhold; `openssl pkeyutl -derive` computes the same ECDH
 * secret as DeriveSharedSecret; GenerateDataKeyPair's private keys parse with `openssl pkey`.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateKeyCommand,
  DecryptCommand,
  DeriveSharedSecretCommand,
  GenerateDataKeyPairCommand,
  GetPublicKeyCommand,
  SignCommand,
  type DataKeyPairSpec,
  type KeySpec,
  type KeyUsageType,
  type SigningAlgorithmSpec,
} from '@aws-sdk/client-kms';
import { startTestServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let dir: string;

before(async () => {
  server = await startTestServer();
  dir = mkdtempSync(join(tmpdir(), 'keyhold-openssl-'));
});

after(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

function openssl(args: string[], input?: Buffer): Buffer {
  return execFileSync('openssl', args, { input, stdio: ['pipe', 'pipe', 'pipe'] });
}

let n = 0;
function file(name: string, data: Buffer): string {
  const p = join(dir, `${n++}-${name}`);
  writeFileSync(p, data);
  return p;
}

async function createKey(spec: string, usage: string): Promise<{ arn: string; pem: string }> {
  const out = await server.client.send(
    new CreateKeyCommand({ KeySpec: spec as KeySpec, KeyUsage: usage as KeyUsageType }),
  );
  const arn = out.KeyMetadata?.Arn;
  assert.ok(arn);
  const pub = await server.client.send(new GetPublicKeyCommand({ KeyId: arn }));
  const der = file('pub.der', Buffer.from(pub.PublicKey ?? []));
  // DER SPKI from GetPublicKey → PEM, as AWS's documentation shows.
  const pem = join(dir, `${n++}-pub.pem`);
  openssl(['pkey', '-pubin', '-inform', 'DER', '-in', der, '-out', pem]);
  return { arn, pem };
}

const DGST = { SHA_256: '-sha256', SHA_384: '-sha384', SHA_512: '-sha512' } as const;

describe('openssl verifies keyhold signatures', () => {
  const cases: [string, string][] = [
    ['RSA_2048', 'RSASSA_PKCS1_V1_5_SHA_256'],
    ['RSA_2048', 'RSASSA_PSS_SHA_256'],
    ['RSA_3072', 'RSASSA_PSS_SHA_384'],
    ['RSA_4096', 'RSASSA_PKCS1_V1_5_SHA_512'],
    ['ECC_NIST_P256', 'ECDSA_SHA_256'],
    ['ECC_NIST_P384', 'ECDSA_SHA_384'],
    ['ECC_NIST_P521', 'ECDSA_SHA_512'],
    ['ECC_SECG_P256K1', 'ECDSA_SHA_256'],
  ];
  for (const [spec, alg] of cases) {
    for (const messageType of ['RAW', 'DIGEST'] as const) {
      it(`${spec} ${alg} ${messageType}: openssl dgst -verify`, async () => {
        const { arn, pem } = await createKey(spec, 'SIGN_VERIFY');
        const message = Buffer.from(`signed by keyhold with ${alg}`);
        const md = DGST[alg.slice(-7) as keyof typeof DGST];
        const msgFile = file('msg', message);
        const digest = openssl(['dgst', md, '-binary', msgFile]);
        const out = await server.client.send(
          new SignCommand({
            KeyId: arn,
            Message: messageType === 'RAW' ? message : digest,
            MessageType: messageType,
            SigningAlgorithm: alg as SigningAlgorithmSpec,
          }),
        );
        const sig = file('sig', Buffer.from(out.Signature ?? []));
        const pss = alg.startsWith('RSASSA_PSS')
          ? ['-sigopt', 'rsa_padding_mode:pss', '-sigopt', 'rsa_pss_saltlen:digest']
          : [];
        const res = openssl(['dgst', md, '-verify', pem, ...pss, '-signature', sig, msgFile]);
        assert.match(res.toString(), /Verified OK/);
      });
    }
  }

  it('ECC_NIST_EDWARDS25519 ED25519_SHA_512: openssl pkeyutl -verify -rawin', async () => {
    const { arn, pem } = await createKey('ECC_NIST_EDWARDS25519', 'SIGN_VERIFY');
    const message = Buffer.from('pure Ed25519 by keyhold');
    const out = await server.client.send(
      new SignCommand({ KeyId: arn, Message: message, SigningAlgorithm: 'ED25519_SHA_512' }),
    );
    const sig = file('sig', Buffer.from(out.Signature ?? []));
    const res = openssl([
      'pkeyutl',
      '-verify',
      '-pubin',
      '-inkey',
      pem,
      '-rawin',
      '-in',
      file('msg', message),
      '-sigfile',
      sig,
    ]);
    assert.match(res.toString(), /Signature Verified Successfully/);
  });
});

describe('openssl encrypts, keyhold decrypts', () => {
  for (const [spec, alg, md] of [
    ['RSA_2048', 'RSAES_OAEP_SHA_256', 'sha256'],
    ['RSA_3072', 'RSAES_OAEP_SHA_1', 'sha1'],
    ['RSA_4096', 'RSAES_OAEP_SHA_256', 'sha256'],
  ] as const) {
    it(`${spec} ${alg}: openssl pkeyutl -encrypt → Decrypt`, async () => {
      const { arn, pem } = await createKey(spec, 'ENCRYPT_DECRYPT');
      const plaintext = Buffer.from(`encrypted outside keyhold (${alg})`);
      const ct = openssl([
        'pkeyutl',
        '-encrypt',
        '-pubin',
        '-inkey',
        pem,
        '-pkeyopt',
        'rsa_padding_mode:oaep',
        '-pkeyopt',
        `rsa_oaep_md:${md}`,
        '-pkeyopt',
        `rsa_mgf1_md:${md}`,
        '-in',
        file('pt', plaintext),
      ]);
      const out = await server.client.send(
        new DecryptCommand({ KeyId: arn, CiphertextBlob: ct, EncryptionAlgorithm: alg }),
      );
      assert.deepEqual(Buffer.from(out.Plaintext ?? []), plaintext);
    });
  }
});

describe('openssl derives the same ECDH secret', () => {
  for (const [spec, curve] of [
    ['ECC_NIST_P256', 'prime256v1'],
    ['ECC_NIST_P384', 'secp384r1'],
    ['ECC_NIST_P521', 'secp521r1'],
  ] as const) {
    it(`${spec}: openssl pkeyutl -derive`, async () => {
      const { arn, pem } = await createKey(spec, 'KEY_AGREEMENT');
      const peerKey = join(dir, `${n++}-peer.pem`);
      openssl([
        'genpkey',
        '-algorithm',
        'EC',
        '-pkeyopt',
        `ec_paramgen_curve:${curve}`,
        '-out',
        peerKey,
      ]);
      const peerPub = openssl(['pkey', '-in', peerKey, '-pubout', '-outform', 'DER']);
      const out = await server.client.send(
        new DeriveSharedSecretCommand({
          KeyId: arn,
          KeyAgreementAlgorithm: 'ECDH',
          PublicKey: peerPub,
        }),
      );
      const outside = openssl(['pkeyutl', '-derive', '-inkey', peerKey, '-peerkey', pem]);
      assert.deepEqual(Buffer.from(out.SharedSecret ?? []), outside);
    });
  }
});

describe('openssl reads GenerateDataKeyPair output', () => {
  for (const spec of ['RSA_2048', 'ECC_NIST_P256', 'ECC_SECG_P256K1', 'ECC_NIST_EDWARDS25519']) {
    it(`${spec}: PKCS#8 private key and SPKI public key match`, async () => {
      const sym = (await server.client.send(new CreateKeyCommand({}))).KeyMetadata?.Arn;
      const out = await server.client.send(
        new GenerateDataKeyPairCommand({ KeyId: sym, KeyPairSpec: spec as DataKeyPairSpec }),
      );
      const priv = file('priv.der', Buffer.from(out.PrivateKeyPlaintext ?? []));
      const derived = openssl([
        'pkey',
        '-inform',
        'DER',
        '-in',
        priv,
        '-pubout',
        '-outform',
        'DER',
      ]);
      assert.deepEqual(derived, Buffer.from(out.PublicKey ?? []));
      assert.ok(readFileSync(priv).length > 0);
    });
  }
});
