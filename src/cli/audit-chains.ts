/**
 * Reading several audit chains as one log for `audit tail` / `audit query`: the chains of
 * one node's workers (`local`, `local-w2`, …, or `<node id>`, `<node id>-w2`, … on
 * PostgreSQL). Each chain is ordered by seq; across chains the order is the events' time
 * (stored as fixed-width UTC text, so string order is time order), ties in chain order.
 */
import type { AuditRepository, AuditRow } from '../storage/repository.js';

const PAGE = 1000;

/** The chains that make up the node of chain `base`: itself and its workers' chains. */
export function nodeChains<T extends { id: string }>(chains: T[], base: string): T[] {
  return chains.filter((c) => c.id === base || c.id.startsWith(`${base}-w`));
}

/** Merge lists (each already in time order) into one, stable. */
export function mergeByTime(lists: AuditRow[][]): AuditRow[] {
  const out: AuditRow[] = [];
  const at = lists.map(() => 0);
  for (;;) {
    let best = -1;
    for (let i = 0; i < lists.length; i++) {
      const r = lists[i]?.[at[i] as number];
      if (r === undefined) continue;
      const b = best < 0 ? undefined : lists[best]?.[at[best] as number];
      if (b === undefined || r.eventTime < b.eventTime) best = i;
    }
    if (best < 0) return out;
    out.push(lists[best]?.[at[best] as number] as AuditRow);
    at[best] = (at[best] as number) + 1;
  }
}

/** Every row after `afterSeq`, page by page. */
export async function rowsAfter(repo: AuditRepository, afterSeq: number): Promise<AuditRow[]> {
  const rows: AuditRow[] = [];
  let last = afterSeq;
  for (;;) {
    const page = await repo.readAudit(last, PAGE);
    rows.push(...page);
    const tail = page[page.length - 1];
    if (tail !== undefined) last = tail.seq;
    if (page.length < PAGE) return rows;
  }
}

/** The newest `n` rows of a chain, oldest first. */
export async function lastRows(repo: AuditRepository, n: number): Promise<AuditRow[]> {
  const head = await repo.getAuditHead();
  return rowsAfter(repo, Math.max(0, (head?.seq ?? 0) - n));
}
