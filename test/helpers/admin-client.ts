/**
 * Calls the keyhold admin API (`KeyholdAdmin.<Op>`, AWS JSON 1.1, SigV4 for service `kms`)
 * as a real client does: a signed HTTP request made with @smithy/signature-v4.
 */
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { TEST_ACCESS_KEY_ID, TEST_REGION, TEST_SECRET_ACCESS_KEY } from './server.js';

export class AdminError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

export function adminClient(
  endpoint: string,
  creds = { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY },
) {
  const signer = new SignatureV4({
    service: 'kms',
    region: TEST_REGION,
    credentials: creds,
    sha256: Hash.bind(null, 'sha256'),
  });
  return async (op: string, input: Record<string, unknown>): Promise<Record<string, unknown>> => {
    const url = new URL(endpoint);
    const body = JSON.stringify(input);
    const signed = await signer.sign(
      new HttpRequest({
        method: 'POST',
        protocol: 'http:',
        hostname: url.hostname,
        port: Number(url.port),
        path: '/',
        headers: {
          host: url.host,
          'content-type': 'application/x-amz-json-1.1',
          'x-amz-target': `KeyholdAdmin.${op}`,
        },
        body,
      }),
    );
    const headers = Object.fromEntries(
      Object.entries(signed.headers).filter(([k]) => k.toLowerCase() !== 'host'),
    );
    const res = await fetch(url, { method: 'POST', headers, body });
    const text = await res.text();
    const json = (text === '' ? {} : JSON.parse(text)) as Record<string, unknown>;
    if (res.status !== 200) {
      const type = String(json.__type ?? res.status);
      throw new AdminError(type.slice(type.lastIndexOf('#') + 1), String(json.message ?? ''));
    }
    return json;
  };
}
