/**
 * Bench scenarios on a CloudHSM-type custom key store key (SoftHSM2): GenerateDataKey and
 * Decrypt, to compare with the same calls on a standard key. Skipped when SoftHSM2 is not
 * installed. The token lives in a private SOFTHSM2_CONF under the bench's temp dir.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ConnectCustomKeyStoreCommand,
  CreateCustomKeyStoreCommand,
  CreateKeyCommand,
  DescribeCustomKeyStoresCommand,
  EncryptCommand,
  type KMSClient,
} from '@aws-sdk/client-kms';

const MODULE = '/usr/lib/softhsm/libsofthsm2.so';
const CLUSTER_ID = 'cluster-benchsofthsm';

export interface BenchCluster {
  dir: string;
  env: Record<string, string>;
  pin: string;
  trustAnchor: string;
}

/** A SoftHSM2 token and the keyhold env naming it as a cluster; undefined without SoftHSM2. */
export function prepareCluster(): BenchCluster | undefined {
  if (!existsSync(MODULE)) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'keyhold-bench-hsm-'));
  mkdirSync(join(dir, 'tokens'));
  const conf = join(dir, 'softhsm2.conf');
  writeFileSync(
    conf,
    `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`,
  );
  const pin = randomBytes(12).toString('hex');
  const label = 'keyhold-bench';
  execFileSync(
    'softhsm2-util',
    ['--init-token', '--free', '--label', label, '--so-pin', `so-${pin}`, '--pin', pin],
    {
      env: { ...process.env, SOFTHSM2_CONF: conf },
      stdio: 'ignore',
    },
  );
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
      '-subj',
      '/CN=bench customerCA',
      '-days',
      '1',
      '-keyout',
      join(dir, 'ca.key'),
      '-out',
      join(dir, 'ca.crt'),
    ],
    { stdio: 'ignore' },
  );
  return {
    dir,
    pin,
    trustAnchor: join(dir, 'ca.crt'),
    env: {
      SOFTHSM2_CONF: conf,
      KEYHOLD_CLOUDHSM_CLUSTERS: JSON.stringify({
        [CLUSTER_ID]: { module: MODULE, tokens: [label], maxSessions: 8 },
      }),
    },
  };
}

export interface CloudHsmScenario {
  op: 'GenerateDataKey' | 'Decrypt';
  label: string;
  body: string;
  expectField: string;
}

/** Create + connect a store, a key in it, and the two scenarios. */
export async function cloudHsmScenarios(
  client: KMSClient,
  cluster: BenchCluster,
  readPem: (path: string) => string,
): Promise<CloudHsmScenario[]> {
  const store = await client.send(
    new CreateCustomKeyStoreCommand({
      CustomKeyStoreName: 'bench',
      CloudHsmClusterId: CLUSTER_ID,
      TrustAnchorCertificate: readPem(cluster.trustAnchor),
      KeyStorePassword: cluster.pin,
    }),
  );
  const id = store.CustomKeyStoreId as string;
  await client.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId: id }));
  for (let i = 0; ; i++) {
    const d = await client.send(new DescribeCustomKeyStoresCommand({ CustomKeyStoreId: id }));
    const state = d.CustomKeyStores?.[0]?.ConnectionState;
    if (state === 'CONNECTED') break;
    if (state === 'FAILED' || i > 200) throw new Error(`bench custom key store: ${state}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const keyId = (
    await client.send(
      new CreateKeyCommand({ CustomKeyStoreId: id, Description: 'bench CloudHSM-type key' }),
    )
  ).KeyMetadata?.KeyId as string;
  const plaintext = randomBytes(1024);
  const enc = await client.send(new EncryptCommand({ KeyId: keyId, Plaintext: plaintext }));
  return [
    {
      op: 'GenerateDataKey',
      label: 'GenerateDataKey (AES_256, CloudHSM-type key on SoftHSM2)',
      body: JSON.stringify({ KeyId: keyId, KeySpec: 'AES_256' }),
      expectField: 'CiphertextBlob',
    },
    {
      op: 'Decrypt',
      label: 'Decrypt (1 KiB, CloudHSM-type key on SoftHSM2)',
      body: JSON.stringify({
        CiphertextBlob: Buffer.from(enc.CiphertextBlob as Uint8Array).toString('base64'),
      }),
      expectField: 'Plaintext',
    },
  ];
}
