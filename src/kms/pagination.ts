/**
 * Limit / Marker / NextMarker / Truncated exactly as AWS: Truncated is always present,
 * NextMarker only when Truncated is true. Markers are opaque (the last sort key, encoded).
 */
import { kmsError } from '../errors/aws-errors.js';

export function encodeMarker(sortKey: string): string {
  return Buffer.from(`keyhold:1:${sortKey}`, 'utf8').toString('base64url');
}

export function decodeMarker(marker: string | undefined): string | undefined {
  if (marker === undefined) return undefined;
  const decoded = Buffer.from(marker, 'base64url').toString('utf8');
  /* Precondition: the marker is one keyhold issued. */
  if (
    !decoded.startsWith('keyhold:1:') ||
    Buffer.from(decoded, 'utf8').toString('base64url') !== marker
  ) {
    throw kmsError('InvalidMarkerException', 'Invalid marker');
  }
  return decoded.slice('keyhold:1:'.length);
}

/** Given up to limit+1 rows, the page and its continuation. */
export function page<T>(
  rows: T[],
  limit: number,
  sortKey: (row: T) => string,
): { items: T[]; Truncated: boolean; NextMarker?: string } {
  if (rows.length <= limit) return { items: rows, Truncated: false };
  const items = rows.slice(0, limit);
  const last = items[items.length - 1] as T;
  return { items, Truncated: true, NextMarker: encodeMarker(sortKey(last)) };
}
