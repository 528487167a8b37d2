/**
 * The API listener's limits, at the socket (node:net): idle sockets, slow headers and slow
 * bodies are closed; past the connection cap a client gets a 503 it can read; oversized
 * bodies get a 413 with an AWS-shaped JSON error; a body is read only once its headers
 * authenticate, and `Expect: 100-continue` is answered only then.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ListKeysCommand } from '@aws-sdk/client-kms';
import {
  parseResponse,
  rawConnect,
  signKmsRequest,
  type RawConnection,
} from '../helpers/raw-http.js';
import { startTestServer, TEST_ACCESS_KEY_ID, type TestServer } from '../helpers/server.js';

const MIB = 1024 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The promise's value, or a failure after `ms` (the old server kept such sockets open). */
function within<T>(p: Promise<T>, ms = 5_000): Promise<T> {
  return Promise.race([
    p,
    sleep(ms).then(() => {
      throw new Error(`still open after ${ms} ms`);
    }),
  ]);
}

function unsignedHead(extra: Record<string, string>): string {
  const headers: Record<string, string> = {
    Host: 'localhost',
    'Content-Type': 'application/x-amz-json-1.1',
    'X-Amz-Target': 'TrentService.ListKeys',
    ...extra,
  };
  return `POST / HTTP/1.1\r\n${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}\r\n`;
}

describe('connection timeouts', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({
      env: {
        KEYHOLD_IDLE_TIMEOUT_MS: '300',
        KEYHOLD_HEADERS_TIMEOUT_MS: '400',
        KEYHOLD_REQUEST_TIMEOUT_MS: '800',
      },
    });
  });
  after(async () => {
    await server.stop();
  });

  it('closes a socket that never sends a byte after the idle timeout', async () => {
    const conns = await Promise.all(Array.from({ length: 20 }, () => rawConnect(server.url)));
    const times = await within(Promise.all(conns.map((c) => c.closed)), 10_000);
    for (const t of times) assert.ok(t >= 250 && t < 3_000, `closed after ${t} ms`);
    assert.equal(conns.map((c) => c.received()).join(''), '', 'nothing to answer');
  });

  it('answers 408 and closes when the headers arrive too slowly (slowloris)', async () => {
    const c = await rawConnect(server.url);
    const head = unsignedHead({ 'Content-Length': '2' });
    let closed = false;
    void c.closed.then(() => (closed = true));
    // One byte every 100 ms: never idle, but the headers never complete in time.
    for (let i = 0; i < head.length - 4 && !closed; i++) {
      c.socket.write(head[i] as string);
      await sleep(100);
    }
    const t = await within(c.closed);
    assert.ok(t < 3_000, `closed after ${t} ms`);
    assert.match(c.received(), /^HTTP\/1\.1 408 /);
  });

  it('answers 408 and closes when the body arrives too slowly', async () => {
    const c = await rawConnect(server.url);
    c.socket.write(unsignedHead({ 'Content-Length': '100' }));
    let closed = false;
    void c.closed.then(() => (closed = true));
    for (let i = 0; i < 40 && !closed; i++) {
      c.socket.write(' ');
      await sleep(100);
    }
    const t = await within(c.closed);
    assert.ok(t < 3_000, `closed after ${t} ms`);
  });

  it('a keep-alive client that sends requests is not cut by the idle timeout', async () => {
    for (let i = 0; i < 3; i++) {
      await server.client.send(new ListKeysCommand({}));
      await sleep(150);
    }
    const keys = await server.client.send(new ListKeysCommand({}));
    assert.ok(Array.isArray(keys.Keys));
  });
});

describe('connection cap', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ env: { KEYHOLD_MAX_CONNECTIONS: '4' } });
  });
  after(async () => {
    await server.stop();
  });

  it('past KEYHOLD_MAX_CONNECTIONS a client reads a 503 ServiceUnavailableException, then the server recovers', async () => {
    const held: RawConnection[] = [];
    for (let i = 0; i < 4; i++) held.push(await rawConnect(server.url));
    await sleep(50);
    const extra = await rawConnect(server.url);
    extra.socket.write(unsignedHead({ 'Content-Length': '2' }) + '{}');
    await within(extra.closed);
    const r = parseResponse(extra.received());
    assert.equal(r.status, 503);
    assert.equal(r.headers['connection'], 'close');
    assert.equal(r.headers['content-type'], 'application/x-amz-json-1.1');
    assert.equal(JSON.parse(r.body).__type, 'ServiceUnavailableException');
    for (const c of held) c.socket.destroy();
    await Promise.all(held.map((c) => c.closed));
    await sleep(50);
    const keys = await server.client.send(new ListKeysCommand({}));
    assert.ok(Array.isArray(keys.Keys), 'accepted again once connections close');
  });
});

describe('request bodies', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server.stop();
  });

  function assertTooLarge(raw: string): void {
    const r = parseResponse(raw);
    assert.equal(r.status, 413);
    assert.equal(r.headers['content-type'], 'application/x-amz-json-1.1');
    assert.ok(r.headers['x-amzn-requestid'], 'carries a request id');
    const json = JSON.parse(r.body) as { __type: string; message: string };
    assert.equal(json.__type, 'RequestEntityTooLargeException');
    assert.match(json.message, /at most 1048576 bytes/);
  }

  it('a Content-Length over 1 MiB gets 413 before any body is sent', async () => {
    const signed = await signKmsRequest(server.url, 'TrentService.ListKeys', '{}', {
      'content-length': String(2 * MIB),
    });
    const c = await rawConnect(server.url);
    c.socket.write(signed.head);
    await c.waitFor('\r\n\r\n');
    assertTooLarge(c.received());
    assert.ok((await within(c.closed)) < 5_000, 'the connection is closed');
  });

  it('a CreateKey with an oversized chunked body is refused and creates nothing', async () => {
    const before = (await server.client.send(new ListKeysCommand({ Limit: 1000 }))).Keys?.length;
    const signed = await signKmsRequest(
      server.url,
      'TrentService.CreateKey',
      '{}',
      {},
      { 'transfer-encoding': 'chunked' },
    );
    const c = await rawConnect(server.url);
    c.socket.write(signed.head);
    const description = `{"Description":"${'x'.repeat(MIB + 10)}"}`;
    c.socket.write(`${description.length.toString(16)}\r\n${description}\r\n0\r\n\r\n`);
    await c.waitFor(/\r\n\r\n[\s\S]*\}/);
    assertTooLarge(c.received());
    const after = (await server.client.send(new ListKeysCommand({ Limit: 1000 }))).Keys?.length;
    assert.equal(after, before, 'no key was created');
  });

  it('a chunked body over 1 MiB gets 413 (counted as it arrives), not a reset', async () => {
    const signed = await signKmsRequest(
      server.url,
      'TrentService.ListKeys',
      '{}',
      {},
      { 'transfer-encoding': 'chunked' },
    );
    const c = await rawConnect(server.url);
    c.socket.write(signed.head);
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    for (let sent = 0; sent <= 2 * MIB && !c.received().includes('\r\n\r\n');) {
      c.socket.write(`${chunk.length.toString(16)}\r\n`);
      c.socket.write(chunk);
      c.socket.write('\r\n');
      sent += chunk.length;
      await sleep(1);
    }
    await c.waitFor(/\r\n\r\n[\s\S]*\}/);
    assertTooLarge(c.received());
  });

  it('a correctly signed chunked body within the limit is served', async () => {
    const body = JSON.stringify({ Limit: 5 });
    const signed = await signKmsRequest(
      server.url,
      'TrentService.ListKeys',
      body,
      {},
      { 'transfer-encoding': 'chunked' },
    );
    const c = await rawConnect(server.url);
    c.socket.write(signed.head);
    c.socket.write(`${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`);
    await c.waitFor(/\r\n\r\n[\s\S]*\}/);
    const r = parseResponse(c.received());
    assert.equal(r.status, 200, r.body);
    assert.ok(Array.isArray(JSON.parse(r.body).Keys));
    c.socket.destroy();
  });

  for (const [name, headers, code] of [
    ['no Authorization', {}, 'MissingAuthenticationTokenException'],
    [
      'an unknown access key',
      {
        Authorization: `AWS4-HMAC-SHA256 Credential=AKIAUNKNOWNUNKNOWN00/20260101/us-east-1/kms/aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature=${'0'.repeat(64)}`,
        'X-Amz-Date': '20260101T000000Z',
      },
      'UnrecognizedClientException',
    ],
    [
      'a signature dated long ago',
      {
        Authorization: `AWS4-HMAC-SHA256 Credential=${TEST_ACCESS_KEY_ID}/20200101/us-east-1/kms/aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature=${'0'.repeat(64)}`,
        'X-Amz-Date': '20200101T000000Z',
      },
      'InvalidSignatureException',
    ],
  ] as const) {
    it(`headers with ${name} are answered (${code}) without the body being read`, async () => {
      const c = await rawConnect(server.url);
      // The body is declared but never sent: an answer proves the server did not wait for it.
      c.socket.write(unsignedHead({ 'Content-Length': String(MIB), ...headers }));
      await c.waitFor(/\r\n\r\n[\s\S]*\}/);
      const r = parseResponse(c.received());
      assert.equal(JSON.parse(r.body).__type, code);
      assert.equal(r.headers['connection'], 'close');
      assert.ok((await within(c.closed)) < 5_000, 'the connection is closed, its body unread');
    });
  }

  it('200 unauthenticated connections each declaring 1 MiB are all answered without their bodies', async () => {
    const conns = await Promise.all(Array.from({ length: 200 }, () => rawConnect(server.url)));
    for (const c of conns) c.socket.write(unsignedHead({ 'Content-Length': String(MIB) }));
    await Promise.all(conns.map((c) => c.waitFor(/\r\n\r\n[\s\S]*\}/, 20_000)));
    for (const c of conns) {
      assert.equal(
        JSON.parse(parseResponse(c.received()).body).__type,
        'MissingAuthenticationTokenException',
      );
    }
    await within(Promise.all(conns.map((c) => c.closed)), 10_000);
  });
});

describe('Expect: 100-continue', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server.stop();
  });

  it('is not answered with 100 when the headers do not authenticate', async () => {
    const c = await rawConnect(server.url);
    c.socket.write(unsignedHead({ 'Content-Length': '2', Expect: '100-continue' }));
    await c.waitFor(/\r\n\r\n[\s\S]*\}/);
    assert.doesNotMatch(c.received(), /100 Continue/);
    const r = parseResponse(c.received());
    assert.equal(r.status, 403);
    assert.equal(JSON.parse(r.body).__type, 'MissingAuthenticationTokenException');
  });

  it('is answered with 100 once the headers authenticate; the request then succeeds', async () => {
    const body = JSON.stringify({ Limit: 3 });
    const signed = await signKmsRequest(server.url, 'TrentService.ListKeys', body, {
      'content-length': String(body.length),
      expect: '100-continue',
    });
    const c = await rawConnect(server.url);
    c.socket.write(signed.head);
    await c.waitFor('HTTP/1.1 100 Continue\r\n\r\n');
    c.socket.write(body);
    await c.waitFor(/HTTP\/1\.1 200[\s\S]*\r\n\r\n[\s\S]*\}/);
    const rest = c.received().slice(c.received().indexOf('HTTP/1.1 200'));
    assert.ok(Array.isArray(JSON.parse(parseResponse(rest).body).Keys));
    c.socket.destroy();
  });

  it('a signed request whose body then fails the signature is refused (InvalidSignatureException)', async () => {
    const signed = await signKmsRequest(server.url, 'TrentService.ListKeys', '{"Limit":3}', {
      'content-length': '11',
      expect: '100-continue',
    });
    const c = await rawConnect(server.url);
    c.socket.write(signed.head);
    await c.waitFor('100 Continue');
    c.socket.write('{"Limit":4}');
    await c.waitFor(/HTTP\/1\.1 400[\s\S]*\r\n\r\n[\s\S]*\}/);
    const rest = c.received().slice(c.received().indexOf('HTTP/1.1 400'));
    assert.equal(JSON.parse(parseResponse(rest).body).__type, 'InvalidSignatureException');
    c.socket.destroy();
  });
});
