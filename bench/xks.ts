/**
 * Bench scenarios on an external key store key: keyhold → `keyhold xks-proxy` (a child
 * process on loopback, TLS + SigV4, software key file backend) → back. GenerateDataKey and
 * Decrypt, to compare with the same calls on a standard key; the difference is the added
 * cost of the second (external) encryption layer and the proxy round trip.
 */
import { type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';
import { join } from 'node:path';
import {
  ConnectCustomKeyStoreCommand,
  CreateCustomKeyStoreCommand,
  CreateKeyCommand,
  DescribeCustomKeyStoresCommand,
  EncryptCommand,
  type KMSClient,
} from '@aws-sdk/client-kms';
import { createTestPki } from '../test/helpers/tls.js';

/** The proxy's name in the store's XksProxyUriEndpoint; dialled at 127.0.0.1:<port>. */
const PROXY_HOST = 'xks.bench.test';
const URI_PREFIX = '/bench';
const XKS_KEY_ID = 'bench-key';
const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export interface BenchXks {
  /** Temp dir holding the PKI, the key file and the proxy config (removed by the caller). */
  dirs: string[];
  /** keyhold's environment for reaching the proxy. */
  env: Record<string, string>;
  child: ChildProcess;
  credential: { accessKeyId: string; secretAccessKey: string };
}

export interface SpawnedChild {
  child: ChildProcess;
  output: () => string;
}

/** Start `keyhold xks-proxy` on `port` with one AES-256 key; resolves once it accepts TLS. */
export async function startBenchXksProxy(
  mainJs: string,
  port: number,
  spawn: (args: string[], env: NodeJS.ProcessEnv) => SpawnedChild,
  run: (args: string[], env: NodeJS.ProcessEnv) => void,
): Promise<BenchXks> {
  const pki = createTestPki({ serverNames: [`DNS:${PROXY_HOST}`] });
  const keyFile = join(pki.dir, 'xks-keys.json');
  const passphrase = randomBytes(24).toString('base64');
  const env = { ...process.env, KEYHOLD_XKS_KEY_FILE_PASSPHRASE: passphrase };
  run([mainJs, 'xks-proxy', 'keys', 'create', '--file', keyFile, '--id', XKS_KEY_ID], env);
  const credential = {
    accessKeyId: Array.from(randomBytes(24), (b) => BASE32[b % 32]).join(''),
    secretAccessKey: randomBytes(33).toString('base64'),
  };
  const config = join(pki.dir, 'xks-proxy.json');
  writeFileSync(
    config,
    JSON.stringify({
      host: '127.0.0.1',
      port,
      uriPrefix: URI_PREFIX,
      tls: { certFile: pki.server.certPath, keyFile: pki.server.keyPath },
      credentials: [credential],
      backend: {
        type: 'software',
        keyFile,
        passphraseEnv: 'KEYHOLD_XKS_KEY_FILE_PASSPHRASE',
      },
    }),
    { mode: 0o600 },
  );
  const s = spawn([mainJs, 'xks-proxy', '--config', config], {
    ...env,
    KEYHOLD_LOG_LEVEL: 'warn',
  });
  await waitForTls(port, s);
  return {
    dirs: [pki.dir],
    child: s.child,
    credential,
    env: {
      KEYHOLD_XKS_CLIENT_CA_FILE: pki.caPath,
      KEYHOLD_XKS_CLIENT_CONNECT_TO: `${PROXY_HOST}=127.0.0.1:${port}`,
    },
  };
}

async function waitForTls(port: number, s: SpawnedChild): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (s.child.exitCode !== null) throw new Error(`xks-proxy exited:\n${s.output()}`);
    const up = await new Promise<boolean>((resolve) => {
      const sock = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
        sock.end();
        resolve(true);
      });
      sock.once('error', () => resolve(false));
    });
    if (up) return;
    if (Date.now() > deadline) throw new Error(`xks-proxy not listening:\n${s.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface XksScenario {
  op: 'GenerateDataKey' | 'Decrypt';
  label: string;
  body: string;
  expectField: string;
}

/** Create + connect an external key store, a key in it, and the two scenarios. */
export async function xksScenarios(client: KMSClient, xks: BenchXks): Promise<XksScenario[]> {
  const store = await client.send(
    new CreateCustomKeyStoreCommand({
      CustomKeyStoreName: 'bench-xks',
      CustomKeyStoreType: 'EXTERNAL_KEY_STORE',
      XksProxyUriEndpoint: `https://${PROXY_HOST}`,
      XksProxyUriPath: `${URI_PREFIX}/kms/xks/v1`,
      XksProxyConnectivity: 'PUBLIC_ENDPOINT',
      XksProxyAuthenticationCredential: {
        AccessKeyId: xks.credential.accessKeyId,
        RawSecretAccessKey: xks.credential.secretAccessKey,
      },
    }),
  );
  const id = store.CustomKeyStoreId as string;
  await client.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId: id }));
  for (let i = 0; ; i++) {
    const d = await client.send(new DescribeCustomKeyStoresCommand({ CustomKeyStoreId: id }));
    const state = d.CustomKeyStores?.[0]?.ConnectionState;
    if (state === 'CONNECTED') break;
    if (state === 'FAILED' || i > 200) {
      throw new Error(
        `bench external key store: ${state} ${d.CustomKeyStores?.[0]?.ConnectionErrorCode ?? ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const keyId = (
    await client.send(
      new CreateKeyCommand({
        CustomKeyStoreId: id,
        Origin: 'EXTERNAL_KEY_STORE',
        XksKeyId: XKS_KEY_ID,
        Description: 'bench external key',
      }),
    )
  ).KeyMetadata?.KeyId as string;
  const enc = await client.send(new EncryptCommand({ KeyId: keyId, Plaintext: randomBytes(1024) }));
  return [
    {
      op: 'GenerateDataKey',
      label: 'GenerateDataKey (AES_256, external key via keyhold xks-proxy)',
      body: JSON.stringify({ KeyId: keyId, KeySpec: 'AES_256' }),
      expectField: 'CiphertextBlob',
    },
    {
      op: 'Decrypt',
      label: 'Decrypt (1 KiB, external key via keyhold xks-proxy)',
      body: JSON.stringify({
        CiphertextBlob: Buffer.from(enc.CiphertextBlob as Uint8Array).toString('base64'),
      }),
      expectField: 'Plaintext',
    },
  ];
}
