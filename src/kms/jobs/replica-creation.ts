/**
 * ReplicateKey finishes asynchronously, as in AWS: the replica is answered and stored in
 * state Creating (with its material and membership already written), and turns Enabled —
 * or PendingImport when the primary's material is imported — a short while later
 * (KEYHOLD_REPLICA_CREATION_MS). Clients wait with DescribeKey, as they must on AWS.
 *
 * The timer lives in the node that served ReplicateKey. If that node stops first, the
 * background job (run at every start and every minute, on one node) finishes any replica
 * that has been Creating for longer than the delay, so the state survives a restart.
 */
import { ConcurrentUpdateError, type KeyRecord, type Storage } from '../../storage/repository.js';
import type { Clock } from '../../config/clock.js';
import { DEFAULT_REPLICA_CREATION_MS } from '../../config/config.js';

// The default of KEYHOLD_REPLICA_CREATION_MS lives with the config (a lower layer).
export { DEFAULT_REPLICA_CREATION_MS };

/** The state a replica takes when its creation finishes. */
function finishedState(key: KeyRecord): KeyRecord['keyState'] {
  return key.origin === 'EXTERNAL' && key.currentVersionId === undefined
    ? 'PendingImport'
    : 'Enabled';
}

/**
 * Move one replica out of Creating. Does nothing if it is gone or no longer Creating (a
 * ScheduleKeyDeletion meanwhile, or another node finished it). Returns whether it moved.
 * A replica whose membership was never written (ReplicateKey stopped between its writes)
 * stays Creating: enabled, it would be a replica its primary does not know.
 */
export async function finishReplica(
  storage: Pick<Storage, 'getKey' | 'updateKey' | 'multiRegion'>,
  region: string,
  keyId: string,
): Promise<boolean> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const key = await storage.getKey(region, keyId);
    if (key?.keyState !== 'Creating' || !key.multiRegion) return false;
    const members = await storage.multiRegion.listMembers(key.accountId, key.keyId);
    if (!members.some((m) => m.region === region)) return false;
    try {
      await storage.updateKey({ ...key, keyState: finishedState(key) });
      return true;
    } catch (err) {
      if (!(err instanceof ConcurrentUpdateError)) throw err;
    }
  }
  return false;
}

/** The job: finish every replica Creating for longer than the delay (after a restart). */
export async function finishDueReplicas(deps: {
  storage: Storage;
  clock: Clock;
  replicaCreationMs?: number | undefined;
}): Promise<number> {
  const delay = deps.replicaCreationMs ?? DEFAULT_REPLICA_CREATION_MS;
  const before = new Date(deps.clock.now().getTime() - delay);
  let finished = 0;
  for (;;) {
    const due = await deps.storage.listKeysCreatingSince(before, 500);
    let moved = 0;
    for (const key of due) if (await finishReplica(deps.storage, key.region, key.keyId)) moved++;
    finished += moved;
    if (due.length < 500 || moved === 0) return finished;
  }
}

/** The per-node timers of replicas being created; close() cancels and waits for them. */
export class ReplicaCreation {
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #running = new Set<Promise<void>>();
  #closed = false;

  constructor(
    private readonly storage: Pick<Storage, 'getKey' | 'updateKey' | 'multiRegion'>,
    readonly delayMs: number,
    private readonly onError: (err: unknown) => void = () => undefined,
  ) {}

  /** Finish the replica after the delay. A failure leaves it to finishDueReplicas. */
  schedule(region: string, keyId: string): void {
    if (this.#closed) return;
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      const run = finishReplica(this.storage, region, keyId).then(
        () => undefined,
        (err: unknown) => this.onError(err),
      );
      this.#running.add(run);
      void run.finally(() => this.#running.delete(run));
    }, this.delayMs);
    timer.unref();
    this.#timers.add(timer);
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    await Promise.all([...this.#running]);
  }
}
