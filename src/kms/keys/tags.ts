/** Tag rules shared by CreateKey, ReplicateKey and TagResource. */
import type { Tag } from '@aws-sdk/client-kms';
import { kmsError } from '../../errors/aws-errors.js';
import type { TagRecord } from '../../storage/repository.js';

export const MAX_TAGS_PER_KEY = 50;

/**
 * The request's tags, checked in AWS's order: a repeated tag key, then more than 50 tags,
 * then a reserved `aws:` key — each a TagException in AWS's words (no trailing period).
 */
export function normalizeTags(tags: Tag[] | undefined): TagRecord[] {
  const list = tags ?? [];
  const keys = new Set(list.map((t) => t.TagKey ?? ''));
  /* Precondition: each tag key appears once in a request. */
  if (keys.size < list.length) throw kmsError('TagException', 'Duplicate tag keys');
  if (list.length > MAX_TAGS_PER_KEY) throw kmsError('TagException', 'Too many tags');
  for (const key of keys) {
    /* Precondition: tag keys beginning with aws: are reserved for AWS. */
    if (key.toLowerCase().startsWith('aws:')) {
      throw kmsError('TagException', 'Tags beginning with aws: are reserved');
    }
  }
  return list.map((t) => ({ tagKey: t.TagKey ?? '', tagValue: t.TagValue ?? '' }));
}

/**
 * The key's resulting tag count (TagResource adds to the existing tags): over 50 is the
 * "tags per KMS key" quota, LimitExceededException (a request of more than 50 tags is
 * already a TagException in normalizeTags).
 */
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
