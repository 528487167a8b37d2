/**
 * One SigV4-signed raw KMS request (awsJson1_1), signed with the SDK's own signer and sent
 * with fetch, so a test sees the exact status and body (which members an error carries).
 */
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { TEST_ACCESS_KEY_ID, TEST_REGION, TEST_SECRET_ACCESS_KEY } from './server.js';

export interface RawKmsResponse {
  status: number;
  body: Record<string, unknown>;
}

export async function rawKms(
  serverUrl: string,
  operation: string,
  input: Record<string, unknown>,
  region = TEST_REGION,
): Promise<RawKmsResponse> {
  const url = new URL(serverUrl);
  const body = JSON.stringify(input);
  const request = new HttpRequest({
    method: 'POST',
    protocol: url.protocol,
    hostname: url.hostname,
    port: Number(url.port),
    path: '/',
    headers: {
      host: url.host,
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': `TrentService.${operation}`,
    },
    body,
  });
  const signer = new SignatureV4({
    service: 'kms',
    region,
    credentials: { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY },
    sha256: Hash.bind(null, 'sha256'),
  });
  const signed = await signer.sign(request);
  // fetch sets Host itself (to the value that was signed)
  const headers = Object.fromEntries(
    Object.entries(signed.headers).filter(([name]) => name.toLowerCase() !== 'host'),
  );
  const res = await fetch(url, { method: 'POST', headers, body });
  const text = await res.text();
  return {
    status: res.status,
    body: text.length === 0 ? {} : (JSON.parse(text) as Record<string, unknown>),
  };
}
