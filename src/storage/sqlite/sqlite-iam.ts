import type BetterSqlite3 from 'better-sqlite3';
import type { IamRepository } from '../iam-repository.js';

export class SqliteIamRepository implements IamRepository {
  readonly kind = 'iam';
  constructor(readonly db: BetterSqlite3.Database) {}
}
