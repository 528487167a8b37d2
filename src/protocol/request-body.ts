/**
 * Reading a request body within the size limit. An oversized body gets an HTTP answer (413,
 * AWS-shaped JSON), never a reset connection: a declared Content-Length is judged before a
 * byte is read, a chunked body is counted as it arrives and dropped once over the limit.
 */
import type { IncomingMessage } from 'node:http';
import { kmsError, type KmsError } from '../errors/aws-errors.js';

/** KMS requests are small (a 6 KiB ciphertext, a 32 KB policy); refuse bodies past this. */
export const MAX_BODY_BYTES = 1024 * 1024;

export function bodyTooLarge(max = MAX_BODY_BYTES): KmsError {
  return kmsError('RequestEntityTooLargeException', `Request body must be at most ${max} bytes.`);
}

/** The client went away before its body was complete. */
export class RequestAbortedError extends Error {
  constructor() {
    super('the client closed the connection before the request body was complete');
    this.name = 'RequestAbortedError';
  }
}

/** True when the request declares a body over the limit (Content-Length). */
export function declaresTooLarge(req: IncomingMessage, max = MAX_BODY_BYTES): boolean {
  const length = req.headers['content-length'];
  return length !== undefined && Number(length) > max;
}

/** Read the whole body; rejects with RequestEntityTooLargeException past `max` bytes. */
export function readBody(req: IncomingMessage, max = MAX_BODY_BYTES): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    if (declaresTooLarge(req, max)) {
      reject(bodyTooLarge(max));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer): void => {
      size += c.length;
      if (size <= max) {
        chunks.push(c);
        return;
      }
      // Over the limit: keep nothing; Node drains the rest once the 413 is sent.
      req.off('data', onData);
      for (const b of chunks) b.fill(0);
      chunks.length = 0;
      reject(bodyTooLarge(max));
    };
    req.on('data', onData);
    req.on('end', () =>
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)),
    );
    req.on('error', reject);
    // A client gone mid-body (or cut off by the request timeout): nothing left to answer.
    req.once('close', () => {
      if (!req.complete) reject(new RequestAbortedError());
    });
  });
}
