/**
 * How the console retries: throttling (ThrottlingException, HTTP 429/503) and transient
 * network errors are retried with exponential backoff and full jitter, a few times; what
 * still fails is thrown to the page, which shows it. Plugged into the SDK as its retry
 * strategy so that every KMS call of the console behaves the same way.
 */
import type { RetryErrorInfo, RetryStrategyV2, RetryToken } from '@smithy/types';

/** Attempts per call, the first included. */
export const MAX_ATTEMPTS = 5;
/** Backoff before retry n (1-based) is random in [0, min(CAP, BASE·2^n)) ms. */
const BASE_MS = 250;
const CAP_MS = 4000;

export function backoffMs(retry: number, random: () => number = Math.random): number {
  return Math.floor(random() * Math.min(CAP_MS, BASE_MS * 2 ** retry));
}

function token(retries: number, delay: number): RetryToken {
  return { getRetryCount: () => retries, getRetryDelay: () => delay };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class ConsoleRetryStrategy implements RetryStrategyV2 {
  readonly mode = 'standard';

  async acquireInitialRetryToken(): Promise<RetryToken> {
    return token(0, 0);
  }

  async refreshRetryTokenForRetry(t: RetryToken, info: RetryErrorInfo): Promise<RetryToken> {
    const retries = t.getRetryCount() + 1;
    const retryable = info.errorType === 'THROTTLING' || info.errorType === 'TRANSIENT';
    if (!retryable || retries >= MAX_ATTEMPTS) throw info.error ?? new Error('retry refused');
    // Sleep here and hand back a zero delay (RetryStrategyV2 allows either).
    await sleep(backoffMs(retries));
    return token(retries, 0);
  }

  recordSuccess(): void {}
}
