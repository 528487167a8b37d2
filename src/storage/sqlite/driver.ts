/**
 * The SQLite driver, chosen by Node version. better-sqlite3 12 (built from source here) is
 * the one that runs on Node 20; on Node 24.19+ its Statement finalizer aborts the process
 * when a statement is garbage-collected outside a JS context (better-sqlite3 derives from
 * node::ObjectWrap before 13.x; WiseLibs/better-sqlite3#1515). better-sqlite3 13 (N-API,
 * prebuilt) fixes that but requires Node >= 22. Both have the same API; the rest of the
 * code imports `Database` from here.
 */
import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';

const require = createRequire(import.meta.url);
const major = Number(process.versions.node.split('.')[0]);

/** The better-sqlite3 Database constructor for this Node. */
const Database: typeof BetterSqlite3 = (
  major >= 22 ? require('better-sqlite3-13') : require('better-sqlite3')
) as typeof BetterSqlite3;

export default Database;
