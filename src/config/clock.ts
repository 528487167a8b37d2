/**
 * The injectable clock: every layer that reads the time takes one, so tests can move it.
 * A leaf (imports nothing), so the lower layers can name it without importing kms/.
 */
export interface Clock {
  now(): Date;
}
