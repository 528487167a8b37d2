/**
 * A bounded LRU of parsed policies, keyed by kind and text: key policies are parsed on every
 * request, and parsing dominates a decision's cost. Parse failures are not cached.
 */
import { parsePolicy, type PolicyDocument, type PolicyKind } from './document.js';

const MAX_ENTRIES = 1024;
const entries = new Map<string, PolicyDocument>();

/** `parsePolicy`, memoized. The returned document is shared: treat it as immutable. */
export function parsePolicyCached(text: string, kind: PolicyKind): PolicyDocument {
  const k = `${kind}\u0000${text}`;
  const hit = entries.get(k);
  if (hit !== undefined) {
    // Re-insert to mark as most recently used (Map keeps insertion order).
    entries.delete(k);
    entries.set(k, hit);
    return hit;
  }
  const doc = parsePolicy(text, kind);
  if (entries.size >= MAX_ENTRIES) {
    const oldest = entries.keys().next();
    if (oldest.done !== true) entries.delete(oldest.value);
  }
  entries.set(k, doc);
  return doc;
}

/** Number of cached documents (for tests and metrics). */
export function policyCacheSize(): number {
  return entries.size;
}

/** Drop every cached document. */
export function clearPolicyCache(): void {
  entries.clear();
}
