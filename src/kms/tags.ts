/** Tag rules shared by CreateKey and TagResource. */
import type { Tag } from '@aws-sdk/client-kms';
import { kmsError } from '../protocol/errors.js';
import type { TagRecord } from '../storage/repository.js';

export const MAX_TAGS_PER_KEY = 50;

/** Reject reserved keys; duplicate keys keep the last value (AWS: "later value replaces"). */
export function normalizeTags(tags: Tag[] | undefined): TagRecord[] {
  const byKey = new Map<string, string>();
  for (const t of tags ?? []) {
    const key = t.TagKey ?? '';
    /* Precondition: tag keys beginning with aws: are reserved for AWS. */
    if (key.toLowerCase().startsWith('aws:')) {
      throw kmsError('TagException', 'Tags beginning with aws: are reserved.');
    }
    byKey.set(key, t.TagValue ?? '');
  }
  return [...byKey].map(([tagKey, tagValue]) => ({ tagKey, tagValue }));
}

export function checkTagLimit(count: number): void {
  if (count > MAX_TAGS_PER_KEY) {
    throw kmsError(
      'LimitExceededException',
      `A KMS key can have at most ${MAX_TAGS_PER_KEY} tags.`,
    );
  }
}

/** Condition keys of a request that carries tags: aws:RequestTag/<k> and aws:TagKeys. */
export function requestTagConditions(tags: TagRecord[]): Record<string, string | string[]> {
  const c: Record<string, string | string[]> = { 'aws:TagKeys': tags.map((t) => t.tagKey) };
  for (const t of tags) c[`aws:RequestTag/${t.tagKey}`] = t.tagValue;
  return c;
}
