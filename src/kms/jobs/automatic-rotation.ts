/**
 * The automatic-rotation job: every Enabled key whose rotation is enabled and due
 * (next rotation date ≤ now) gets new key material (rotation type AUTOMATIC), and its next
 * rotation date moves on by one period.
 */
import type { Clock } from '../../config/clock.js';
import type { RotationDeps } from '../material/rotate-material.js';
import { DAY_MS, hasRotatableSpec, rotateKeyMaterial } from '../material/rotate-material.js';

export interface RotationJobDeps extends RotationDeps {
  clock: Clock;
}

const BATCH = 500;

/** Rotate every key whose automatic rotation is due; returns how many were rotated. */
export async function rotateDueKeys(deps: RotationJobDeps): Promise<number> {
  const now = deps.clock.now();
  let rotated = 0;
  // One failing key must not hold back the others: remember the first error, rethrow at the end.
  let failure: unknown;
  for (;;) {
    const due = await deps.storage.rotation.listDueRotations(now, BATCH);
    let progress = 0;
    for (const s of due) {
      const expected = s.nextRotationDate;
      if (expected === undefined) continue;
      const key = await deps.storage.getKey(s.region, s.keyId);
      if (key === undefined || key.keyState !== 'Enabled' || !hasRotatableSpec(key)) continue;
      // Multi-node: a per-key lease taken in storage goes here, so that only one node spends
      // an HSM call on the key. Correctness does not depend on it: the rotation below is a
      // conditional update ("only if next_rotation_date is still `expected`"), so a due
      // rotation happens exactly once however many runs race for it.
      const period = s.rotationPeriodInDays * DAY_MS;
      // On schedule: one period after the due date. A key that was Disabled past its date
      // rotates now and "every year thereafter" (GetKeyRotationStatus doc): now + period.
      let next = expected.getTime() + period;
      if (next <= now.getTime()) next = now.getTime() + period;
      const result = await rotateKeyMaterial(deps, key, {
        type: 'AUTOMATIC',
        now,
        schedule: { expected, next: new Date(next) },
        recheck: (fresh) => fresh.keyState === 'Enabled',
      }).catch((err: unknown) => {
        failure ??= err;
        return undefined;
      });
      if (result?.kind === 'rotated') {
        rotated++;
        progress++;
      }
    }
    if (due.length < BATCH || progress === 0) break;
  }
  if (failure !== undefined) throw failure;
  return rotated;
}
