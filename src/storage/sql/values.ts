/**
 * Reading a column the same way on both adapters: SQLite returns INTEGER as a number and
 * booleans as 0/1; pg returns BIGINT as a string and BOOLEAN as true/false.
 */
export const text = (v: unknown): string => String(v);
export const int = (v: unknown): number => Number(v);
export const bool = (v: unknown): boolean => v === true || v === 1 || v === 1n;
/** A time stored as epoch milliseconds. */
export const date = (v: unknown): Date => new Date(Number(v));
export const optional = <T>(v: unknown, read: (v: unknown) => T): T | undefined =>
  v === null || v === undefined ? undefined : read(v);
