/**
 * GetKeyLastUsage's record: the runner notes each successful cryptographic operation per
 * key in memory, and a timer writes the latest use of each key in one batch per second (a
 * write per request would cost the hot path a transaction). A crash loses at most the
 * last second of usage — the audit log still holds every event.
 */
import type { KeyLastUsageRecord, KeyUsageRepository } from '../../storage/repository.js';

/** The operations AWS tracks (model enum KeyLastUsageTrackingOperation). */
export const TRACKED_OPERATIONS: ReadonlySet<string> = new Set([
  'Decrypt',
  'DeriveSharedSecret',
  'Encrypt',
  'GenerateDataKey',
  'GenerateDataKeyPair',
  'GenerateDataKeyPairWithoutPlaintext',
  'GenerateDataKeyWithoutPlaintext',
  'GenerateMac',
  'ReEncrypt',
  'Sign',
  'Verify',
  'VerifyMac',
]);

const KEY_ARN_RE = /^arn:aws:kms:([^:]+):\d{12}:key\/(.+)$/;

export class KeyUsageTracker {
  readonly #repo: KeyUsageRepository;
  #pending = new Map<string, KeyLastUsageRecord>();
  #timer: NodeJS.Timeout | undefined;

  constructor(repo: KeyUsageRepository, flushIntervalMs = 1000) {
    this.#repo = repo;
    if (flushIntervalMs > 0) {
      this.#timer = setInterval(() => void this.flush().catch(() => undefined), flushIntervalMs);
      this.#timer.unref();
    }
  }

  /** Note a successful use of the keys an operation touched. */
  record(
    operation: string,
    keyArns: readonly string[],
    usedAt: Date,
    eventId: string,
    requestId: string,
  ): void {
    if (!TRACKED_OPERATIONS.has(operation)) return;
    for (const arn of keyArns) {
      const m = KEY_ARN_RE.exec(arn);
      if (m === null) continue;
      const rec = {
        region: m[1] as string,
        keyId: m[2] as string,
        operation,
        usedAt,
        eventId,
        requestId,
      };
      this.#pending.set(`${rec.region}/${rec.keyId}`, rec);
    }
  }

  /** The latest use, including what is not written yet. */
  async lastUsage(region: string, keyId: string): Promise<KeyLastUsageRecord | undefined> {
    return (
      this.#pending.get(`${region}/${keyId}`) ?? (await this.#repo.getKeyLastUsage(region, keyId))
    );
  }

  async flush(): Promise<void> {
    if (this.#pending.size === 0) return;
    const rows = [...this.#pending.values()];
    this.#pending = new Map();
    await this.#repo.putKeyLastUsage(rows);
  }

  async close(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    await this.flush();
  }
}
