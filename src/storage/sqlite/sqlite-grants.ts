import type BetterSqlite3 from 'better-sqlite3';
import type { GrantRepository } from '../grant-repository.js';

export class SqliteGrantRepository implements GrantRepository {
  readonly kind = 'grants';
  constructor(readonly db: BetterSqlite3.Database) {}
}
