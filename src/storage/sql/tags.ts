/**
 * Key tags, written once for both adapters (run by sql/executor.ts). A key's tags are
 * also written by createKey and removed by deleteKey, inside those transactions.
 */
import type { TagRecord } from '../repository.js';
import { all, run, type Row, type Work } from './executor.js';
import { text } from './values.js';

export const rowToTag = (r: Row): TagRecord => ({
  tagKey: text(r.tag_key),
  tagValue: text(r.tag_value),
});

export function* listTags(region: string, keyId: string): Work<TagRecord[]> {
  const rows = yield* all(
    'SELECT tag_key, tag_value FROM key_tags WHERE region = ? AND key_id = ? ORDER BY tag_key',
    [region, keyId],
  );
  return rows.map(rowToTag);
}

/** Insert or overwrite (TagResource: a key's existing tag key gets the new value). */
export function* putTags(region: string, keyId: string, tags: readonly TagRecord[]): Work<void> {
  for (const t of tags)
    yield* run(
      `INSERT INTO key_tags (region, key_id, tag_key, tag_value) VALUES (?, ?, ?, ?)
       ON CONFLICT (region, key_id, tag_key) DO UPDATE SET tag_value = excluded.tag_value`,
      [region, keyId, t.tagKey, t.tagValue],
    );
}

export function* deleteTags(region: string, keyId: string, tagKeys: readonly string[]): Work<void> {
  for (const k of tagKeys)
    yield* run('DELETE FROM key_tags WHERE region = ? AND key_id = ? AND tag_key = ?', [
      region,
      keyId,
      k,
    ]);
}

export function* deleteAllTags(region: string, keyId: string): Work<void> {
  yield* run('DELETE FROM key_tags WHERE region = ? AND key_id = ?', [region, keyId]);
}
