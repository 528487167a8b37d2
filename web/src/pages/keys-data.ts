/**
 * What the keys list loads, and no more: one ListKeys page (Limit/Marker), every alias once
 * (ListAliases, all pages, shared by all list pages), and DescribeKey + ListResourceTags
 * only for the rows on screen. Each row keeps its own result or error, so a call that
 * failed (after the SDK's retries, retry.ts) is shown where it belongs, never as "no tags".
 */
import {
  DescribeKeyCommand,
  ListAliasesCommand,
  ListKeysCommand,
  ListResourceTagsCommand,
  type AliasListEntry,
  type KeyMetadata,
  type Tag,
} from '@aws-sdk/client-kms';
import { allPages, kms, mapLimit, type Session } from '../api';

/** A part of a row that loads on its own: pending, loaded, or failed with the error. */
export type Part<T> =
  { state: 'loading' } | { state: 'ok'; value: T } | { state: 'failed'; error: unknown };

export interface KeyRow {
  keyId: string;
  meta: Part<KeyMetadata>;
  tags: Part<Tag[]>;
}

export const PAGE_SIZES = [10, 25, 50, 100] as const;
export const DEFAULT_PAGE_SIZE = 10;
/** Rows loading at once: enough to fill a page fast, few enough not to trip the quotas. */
const IN_FLIGHT = 6;

export async function listAliases(s: Session, keyId?: string): Promise<AliasListEntry[]> {
  return allPages(async (Marker) => {
    const r = await kms(s).send(
      new ListAliasesCommand({ Marker, Limit: 100, ...(keyId ? { KeyId: keyId } : {}) }),
    );
    return { items: r.Aliases ?? [], next: r.Truncated ? r.NextMarker : undefined };
  });
}

/** Alias names by target key ID. */
export function aliasIndex(aliases: AliasListEntry[]): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const a of aliases) {
    if (a.TargetKeyId === undefined || a.AliasName === undefined) continue;
    const list = m.get(a.TargetKeyId) ?? [];
    list.push(a.AliasName);
    m.set(a.TargetKeyId, list);
  }
  return m;
}

/** One page of key IDs; `next` is the marker of the following page, if any. */
export async function listKeyPage(
  s: Session,
  limit: number,
  marker: string | undefined,
): Promise<{ keyIds: string[]; next: string | undefined }> {
  const r = await kms(s).send(new ListKeysCommand({ Limit: limit, Marker: marker }));
  return {
    keyIds: (r.Keys ?? []).map((k) => k.KeyId as string),
    next: r.Truncated ? r.NextMarker : undefined,
  };
}

async function part<T>(p: Promise<T>): Promise<Part<T>> {
  try {
    return { state: 'ok', value: await p };
  } catch (error) {
    return { state: 'failed', error };
  }
}

export const loadMeta = (s: Session, keyId: string): Promise<Part<KeyMetadata>> =>
  part(
    kms(s)
      .send(new DescribeKeyCommand({ KeyId: keyId }))
      .then((r) => r.KeyMetadata as KeyMetadata),
  );

export const loadTags = (s: Session, keyId: string): Promise<Part<Tag[]>> =>
  part(
    allPages(async (Marker) => {
      const r = await kms(s).send(new ListResourceTagsCommand({ KeyId: keyId, Marker }));
      return { items: r.Tags ?? [], next: r.Truncated ? r.NextMarker : undefined };
    }),
  );

/**
 * Fill in the parts of the rows still loading, reporting each row as it completes; stops
 * starting new rows once `live()` is false (the person left the page).
 */
export async function fillRows(
  s: Session,
  rows: KeyRow[],
  onRow: (row: KeyRow) => void,
  live: () => boolean,
): Promise<void> {
  const want = (p: Part<unknown>) => p.state === 'loading';
  const todo = rows.filter((r) => want(r.meta) || want(r.tags));
  await mapLimit(todo, IN_FLIGHT, async (r) => {
    if (!live()) return;
    const [meta, tags] = await Promise.all([
      want(r.meta) ? loadMeta(s, r.keyId) : r.meta,
      want(r.tags) ? loadTags(s, r.keyId) : r.tags,
    ]);
    onRow({ ...r, meta, tags });
  });
}

export function failed<T>(p: Part<T>): p is { state: 'failed'; error: unknown } {
  return p.state === 'failed';
}

/** The row with its failed parts set loading again (the "Retry" button). */
export function retrying(r: KeyRow): KeyRow {
  return {
    ...r,
    meta: failed(r.meta) ? { state: 'loading' } : r.meta,
    tags: failed(r.tags) ? { state: 'loading' } : r.tags,
  };
}
