/**
 * The fidelity tests' harness: one server serving two Regions, raw SigV4-signed calls that
 * compare whole bodies, key creation, BYOK import with Node's crypto, and the AWS CLI.
 */
import { execFile } from 'node:child_process';
import { constants, createPublicKey, publicEncrypt } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { rawKms, type RawKmsResponse } from './raw-kms.js';
import {
  TEST_ACCESS_KEY_ID,
  TEST_ACCOUNT_ID,
  TEST_REGION,
  TEST_SECRET_ACCESS_KEY,
  startTestServer,
  type TestServer,
} from './server.js';

export const OTHER_REGION = 'us-west-2';
export const ARN_PREFIX = `arn:aws:kms:${TEST_REGION}:${TEST_ACCOUNT_ID}`;
export const ROOT_CREDENTIALS = {
  accessKeyId: TEST_ACCESS_KEY_ID,
  secretAccessKey: TEST_SECRET_ACCESS_KEY,
};

export type Metadata = Record<string, unknown> & { KeyId: string; Arn: string };

export const b64 = (b: Buffer): string => b.toString('base64');

/** The same bytes with one bit of byte `i` flipped. */
export function flipped(b: Buffer, i: number): Buffer {
  const out = Buffer.from(b);
  out.writeUInt8(out.readUInt8(i) ^ 1, i);
  return out;
}

const AWS = '/usr/bin/aws';

/** Registers the file's before/after hooks (server start and stop) and returns the helpers. */
export function fidelityHarness() {
  let server: TestServer | undefined;
  let cliHome: string | undefined;
  before(async () => {
    server = await startTestServer({ env: { KEYHOLD_REGIONS: OTHER_REGION } });
  });
  after(async () => {
    await server?.stop();
    if (cliHome !== undefined) rmSync(cliHome, { recursive: true, force: true });
  });
  const srv = (): TestServer => {
    assert.ok(server !== undefined, 'the server is started');
    return server;
  };

  function call(
    op: string,
    input: Record<string, unknown>,
    region?: string,
  ): Promise<RawKmsResponse> {
    return rawKms(srv().url, op, input, region);
  }

  async function ok(
    op: string,
    input: Record<string, unknown>,
    region?: string,
  ): Promise<Record<string, unknown>> {
    const res = await call(op, input, region);
    assert.equal(res.status, 200, `${op}: ${JSON.stringify(res.body)}`);
    return res.body;
  }

  /** The request fails with exactly this body (so `message` is there, or absent, as given). */
  async function fails(
    op: string,
    input: Record<string, unknown>,
    body: { __type: string; message?: string },
    region?: string,
  ): Promise<void> {
    const res = await call(op, input, region);
    assert.equal(res.status, 400, `${op}: ${JSON.stringify(res.body)}`);
    assert.deepEqual(res.body, body);
  }

  async function createKey(input: Record<string, unknown> = {}, region?: string) {
    return (await ok('CreateKey', input, region)).KeyMetadata as Metadata;
  }

  async function describe_(keyId: string): Promise<Metadata> {
    return (await ok('DescribeKey', { KeyId: keyId })).KeyMetadata as Metadata;
  }

  /** Import `material` into an EXTERNAL key (RSAES_OAEP_SHA_256, RSA_2048 wrapping key). */
  async function importMaterial(keyId: string, material: Buffer): Promise<string> {
    const params = await ok('GetParametersForImport', {
      KeyId: keyId,
      WrappingAlgorithm: 'RSAES_OAEP_SHA_256',
      WrappingKeySpec: 'RSA_2048',
    });
    const wrappingKey = createPublicKey({
      key: Buffer.from(params.PublicKey as string, 'base64'),
      format: 'der',
      type: 'spki',
    });
    const wrapped = publicEncrypt(
      { key: wrappingKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
      material,
    );
    const out = await ok('ImportKeyMaterial', {
      KeyId: keyId,
      ImportToken: params.ImportToken,
      EncryptedKeyMaterial: b64(wrapped),
      ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE',
    });
    return out.KeyMaterialId as string;
  }

  /** The AWS CLI v2 against this server; fails (never skips) when it is not installed. */
  function awsCli(args: string[]): Promise<{ code: number; stderr: string }> {
    assert.ok(existsSync(AWS), `${AWS} is missing: CI installs Debian's awscli package`);
    cliHome ??= mkdtempSync(join(tmpdir(), 'keyhold-fidelity-cli-'));
    const env: NodeJS.ProcessEnv = {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      HOME: cliHome,
      AWS_ACCESS_KEY_ID: TEST_ACCESS_KEY_ID,
      AWS_SECRET_ACCESS_KEY: TEST_SECRET_ACCESS_KEY,
      AWS_DEFAULT_REGION: TEST_REGION,
      AWS_PAGER: '',
      AWS_CONFIG_FILE: '/dev/null',
      AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_MAX_ATTEMPTS: '1',
    };
    return new Promise((resolve) => {
      execFile(
        AWS,
        [...args, '--endpoint-url', srv().url, '--output', 'json'],
        { env, timeout: 30_000 },
        (err, _stdout, stderr) => {
          const code = err === null ? 0 : typeof err.code === 'number' ? err.code : Number.NaN;
          resolve({ code, stderr: String(stderr) });
        },
      );
    });
  }

  return { server: srv, call, ok, fails, createKey, describe_, importMaterial, awsCli };
}
