/**
 * Read-modify-write of a key's attributes with optimistic concurrency: when another
 * request changed the key in between, re-read, re-check the state rule, and retry.
 */
import { ConcurrentUpdateError, type KeyRecord } from '../../storage/repository.js';
import type { RequestContext } from '../context.js';
import { notFoundKey } from './key-resolver.js';
import { checkKeyState } from './key-state.js';

export async function updateKey(
  ctx: RequestContext,
  key: KeyRecord,
  operation: string,
  change: (k: KeyRecord) => KeyRecord,
): Promise<KeyRecord> {
  let current = key;
  for (let attempt = 0; ; attempt++) {
    try {
      return await ctx.services.storage.updateKey(change(current));
    } catch (err) {
      if (!(err instanceof ConcurrentUpdateError) || attempt >= 5) throw err;
      const fresh = await ctx.services.storage.getKey(key.region, key.keyId);
      if (fresh === undefined) throw notFoundKey(key.arn);
      checkKeyState(operation, fresh);
      current = fresh;
    }
  }
}
