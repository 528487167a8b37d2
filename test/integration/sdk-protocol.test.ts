/**
 * Wire protocol (awsJson1_1) behaviour: unknown targets, unimplemented operations,
 * malformed bodies, response headers and error bodies. Raw requests are SigV4-signed with
 * the same signer the SDK uses, then sent with fetch.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CreateKeyCommand,
  DescribeKeyCommand,
  DescribeCustomKeyStoresCommand,
  ListKeysCommand,
  type KeyMetadata,
} from '@aws-sdk/client-kms';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { OPERATIONS } from '../../src/kms/registry.js';
import {
  TEST_ACCESS_KEY_ID,
  TEST_REGION,
  TEST_SECRET_ACCESS_KEY,
  expectAwsError,
  startTestServer,
  type TestServer,
} from '../helpers/server.js';

const CONTENT_TYPE = 'application/x-amz-json-1.1';
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

let server: TestServer;
let key: KeyMetadata;

before(async () => {
  server = await startTestServer();
  const out = await server.client.send(new CreateKeyCommand({}));
  assert.ok(out.KeyMetadata);
  key = out.KeyMetadata;
});

after(async () => {
  await server.stop();
});

interface RawResponse {
  status: number;
  headers: Headers;
  text: string;
  json: Record<string, unknown>;
}

/** POST a raw body with the given X-Amz-Target, SigV4-signed (unless `sign` is false). */
async function raw(
  target: string | undefined,
  body: string,
  opts: { sign?: boolean; contentType?: string } = {},
): Promise<RawResponse> {
  const url = new URL(server.url);
  const headers: Record<string, string> = {
    host: url.host,
    'content-type': opts.contentType ?? CONTENT_TYPE,
  };
  if (target !== undefined) headers['x-amz-target'] = target;
  let sendHeaders = headers;
  if (opts.sign !== false) {
    const request = new HttpRequest({
      method: 'POST',
      protocol: url.protocol,
      hostname: url.hostname,
      port: Number(url.port),
      path: '/',
      headers,
      body,
    });
    const signer = new SignatureV4({
      service: 'kms',
      region: TEST_REGION,
      credentials: { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY },
      sha256: Hash.bind(null, 'sha256'),
    });
    const signed = await signer.sign(request);
    sendHeaders = signed.headers;
  }
  // fetch sets Host itself (to the same value that was signed)
  const fetchHeaders = Object.fromEntries(
    Object.entries(sendHeaders).filter(([name]) => name.toLowerCase() !== 'host'),
  );
  const res = await fetch(url, { method: 'POST', headers: fetchHeaders, body });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  if (text.length > 0) json = JSON.parse(text) as Record<string, unknown>;
  return { status: res.status, headers: res.headers, text, json };
}

function assertAwsHeaders(res: RawResponse): void {
  assert.equal(res.headers.get('content-type'), CONTENT_TYPE);
  assert.match(res.headers.get('x-amzn-requestid') ?? '', UUID_RE);
}

describe('raw awsJson1_1 requests', () => {
  it('a signed raw DescribeKey succeeds: headers, epoch-second timestamps', async () => {
    const res = await raw('TrentService.DescribeKey', JSON.stringify({ KeyId: key.KeyId }));
    assert.equal(res.status, 200);
    assertAwsHeaders(res);
    const md = res.json.KeyMetadata as Record<string, unknown>;
    assert.equal(md.KeyId, key.KeyId);
    assert.equal(typeof md.CreationDate, 'number', 'timestamps are JSON numbers');
    const secs = md.CreationDate as number;
    assert.ok(Math.abs(secs * 1000 - Date.now()) < 10 * 60_000, 'epoch seconds, not ms');
  });

  it('blobs are standard base64 strings both ways', async () => {
    const pt = Buffer.from('raw plaintext \u00ff\u00fe');
    const enc = await raw(
      'TrentService.Encrypt',
      JSON.stringify({ KeyId: key.KeyId, Plaintext: pt.toString('base64') }),
    );
    assert.equal(enc.status, 200);
    const blob = enc.json.CiphertextBlob;
    assert.equal(typeof blob, 'string');
    assert.match(blob as string, /^[A-Za-z0-9+/]+={0,2}$/);
    const dec = await raw('TrentService.Decrypt', JSON.stringify({ CiphertextBlob: blob }));
    assert.equal(dec.status, 200);
    assert.deepEqual(Buffer.from(dec.json.Plaintext as string, 'base64'), pt);
  });

  it('an empty body is accepted as an empty input', async () => {
    const res = await raw('TrentService.ListKeys', '');
    assert.equal(res.status, 200);
    assert.ok(Array.isArray(res.json.Keys));
    assert.equal(res.json.Truncated, false);
  });

  it('an operation without output answers 200 with the JSON content type', async () => {
    const res = await raw('TrentService.EnableKey', JSON.stringify({ KeyId: key.KeyId }));
    assert.equal(res.status, 200);
    assertAwsHeaders(res);
    if (res.text.length > 0) assert.deepEqual(res.json, {});
  });

  it('unknown X-Amz-Target → UnknownOperationException', async () => {
    const res = await raw('TrentService.MakeCoffee', '{}');
    assert.equal(res.status, 400);
    assertAwsHeaders(res);
    assert.equal(res.json.__type, 'UnknownOperationException');
  });

  it('X-Amz-Target of another service → UnknownOperationException', async () => {
    const res = await raw('DynamoDB_20120810.ListTables', '{}');
    assert.equal(res.status, 400);
    assert.equal(res.json.__type, 'UnknownOperationException');
  });

  it('missing X-Amz-Target → UnknownOperationException', async () => {
    const res = await raw(undefined, '{}');
    assert.equal(res.status, 400);
    assert.equal(res.json.__type, 'UnknownOperationException');
  });

  it('malformed JSON body (signed) → SerializationException', async () => {
    const res = await raw('TrentService.DescribeKey', '{"KeyId": ');
    assert.equal(res.status, 400);
    assertAwsHeaders(res);
    assert.equal(res.json.__type, 'SerializationException');
    assert.equal(typeof res.json.message, 'string');
  });

  it('a JSON array as body → SerializationException', async () => {
    const res = await raw('TrentService.ListKeys', '[]');
    assert.equal(res.status, 400);
    assert.equal(res.json.__type, 'SerializationException');
  });

  it('wrong JSON type (KeyId: 5) → SerializationException', async () => {
    const res = await raw('TrentService.DescribeKey', JSON.stringify({ KeyId: 5 }));
    assert.equal(res.status, 400);
    assert.equal(res.json.__type, 'SerializationException');
    assert.equal(res.json.message, 'NUMBER_VALUE can not be converted to a String');
  });

  it('wrong JSON type (Limit: "2") → SerializationException', async () => {
    const res = await raw('TrentService.ListKeys', JSON.stringify({ Limit: '2' }));
    assert.equal(res.status, 400);
    assert.equal(res.json.__type, 'SerializationException');
  });

  it('a missing required member → ValidationException "Member must not be null"', async () => {
    const res = await raw('TrentService.DescribeKey', '{}');
    assert.equal(res.status, 400);
    assert.equal(res.json.__type, 'ValidationException');
    assert.equal(
      res.json.message,
      "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null",
    );
  });

  it('error bodies carry __type and message', async () => {
    const res = await raw(
      'TrentService.DescribeKey',
      JSON.stringify({ KeyId: '00000000-1111-2222-3333-444444444444' }),
    );
    assert.equal(res.status, 400);
    assertAwsHeaders(res);
    assert.equal(res.json.__type, 'NotFoundException');
    assert.equal(typeof res.json.message, 'string');
    assert.match(res.json.message as string, /does not exist/);
    assert.equal(res.headers.get('x-amzn-query-error'), null, 'KMS is not awsQueryCompatible');
  });

  it('an unsigned request to a real operation is refused', async () => {
    const res = await raw('TrentService.ListKeys', '{}', { sign: false });
    assert.ok(res.status >= 400 && res.status < 500, `status ${res.status}`);
    assert.equal(typeof res.json.__type, 'string');
    assert.equal(res.json.Keys, undefined, 'no data leaks to an unsigned caller');
  });
});

describe('through the SDK', () => {
  it('success responses carry a request id the SDK surfaces', async () => {
    const out = await server.client.send(new ListKeysCommand({}));
    assert.equal(out.$metadata.httpStatusCode, 200);
    assert.match(out.$metadata.requestId ?? '', UUID_RE);
  });

  it('error responses carry a request id the SDK surfaces', async () => {
    const err = (await expectAwsError(
      server.client.send(new DescribeKeyCommand({ KeyId: 'alias/none' })),
      'NotFoundException',
    )) as Error & { $metadata?: { requestId?: string }; $fault?: string };
    assert.match(err.$metadata?.requestId ?? '', UUID_RE);
    assert.equal(err.$fault, 'client');
  });

  it('unknown access key → UnrecognizedClientException', async () => {
    const c = server.clientWith('AKIAUNKNOWNUNKNOWN00', TEST_SECRET_ACCESS_KEY);
    try {
      await expectAwsError(c.send(new ListKeysCommand({})), 'UnrecognizedClientException');
    } finally {
      c.destroy();
    }
  });

  it('wrong secret → InvalidSignatureException', async () => {
    const c = server.clientWith(TEST_ACCESS_KEY_ID, 'wrong-secret-wrong-secret-wrong-secret00');
    try {
      await expectAwsError(c.send(new ListKeysCommand({})), 'InvalidSignatureException');
    } finally {
      c.destroy();
    }
  });

  it('DescribeCustomKeyStores (once a stub) answers with the empty list when there are no stores', async () => {
    const res = await server.client.send(new DescribeCustomKeyStoresCommand({}));
    assert.deepEqual(res.CustomKeyStores, []);
    assert.equal(res.Truncated, false);
  });

  it('every unimplemented model operation answers UnsupportedOperationException by name', async () => {
    // What this build implements, from the operation table itself.
    const implemented = new Set(OPERATIONS.keys());
    // All 54 operations of the KMS model (model/kms-service-2.json).
    const all = [
      'CancelKeyDeletion',
      'ConnectCustomKeyStore',
      'CreateAlias',
      'CreateCustomKeyStore',
      'CreateGrant',
      'CreateKey',
      'Decrypt',
      'DeleteAlias',
      'DeleteCustomKeyStore',
      'DeleteImportedKeyMaterial',
      'DeriveSharedSecret',
      'DescribeCustomKeyStores',
      'DescribeKey',
      'DisableKey',
      'DisableKeyRotation',
      'DisconnectCustomKeyStore',
      'EnableKey',
      'EnableKeyRotation',
      'Encrypt',
      'GenerateDataKey',
      'GenerateDataKeyPair',
      'GenerateDataKeyPairWithoutPlaintext',
      'GenerateDataKeyWithoutPlaintext',
      'GenerateMac',
      'GenerateRandom',
      'GetKeyLastUsage',
      'GetKeyPolicy',
      'GetKeyRotationStatus',
      'GetParametersForImport',
      'GetPublicKey',
      'ImportKeyMaterial',
      'ListAliases',
      'ListGrants',
      'ListKeyPolicies',
      'ListKeyRotations',
      'ListKeys',
      'ListResourceTags',
      'ListRetirableGrants',
      'PutKeyPolicy',
      'ReEncrypt',
      'ReplicateKey',
      'RetireGrant',
      'RevokeGrant',
      'RotateKeyOnDemand',
      'ScheduleKeyDeletion',
      'Sign',
      'TagResource',
      'UntagResource',
      'UpdateAlias',
      'UpdateCustomKeyStore',
      'UpdateKeyDescription',
      'UpdatePrimaryRegion',
      'Verify',
      'VerifyMac',
    ];
    assert.equal(all.length, 54);
    // Probe with an empty body: either the model rejects the missing members first
    // (ValidationException) or the operation is refused by name. Never UnknownOperation,
    // never success.
    for (const op of all.filter((o) => !implemented.has(o))) {
      const res = await raw(`TrentService.${op}`, '{}');
      assert.equal(res.status, 400, op);
      const type = res.json.__type;
      assert.ok(
        type === 'UnsupportedOperationException' || type === 'ValidationException',
        `${op}: ${String(type)}`,
      );
      if (type === 'UnsupportedOperationException') {
        assert.ok(String(res.json.message).includes(op), `${op}: ${String(res.json.message)}`);
      }
    }
  });
});
