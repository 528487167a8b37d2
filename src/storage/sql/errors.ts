/**
 * Recognising a statement's error the same way on both adapters (the work catches it,
 * see executor.ts): better-sqlite3 names constraint failures by SQLite's extended result
 * codes, pg by the SQLSTATE.
 */

/** A primary-key or unique constraint refused the row (SQLite or PostgreSQL). */
export function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return (
    code === 'SQLITE_CONSTRAINT_PRIMARYKEY' ||
    code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    code === '23505'
  );
}
