/**
 * A database of its own on the test PostgreSQL server (CI starts the cluster on 5432):
 * created with a random name, dropped afterwards.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The server to create databases on (any database on it; the name is replaced). */
export function testPgUrl(): string {
  return process.env.KEYHOLD_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
}

export async function withDatabase<T>(
  serverUrl: string,
  prefix: string,
  fn: (url: string) => Promise<T>,
): Promise<T> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
    const u = new URL(serverUrl);
    u.pathname = `/${name}`;
    try {
      return await fn(u.toString());
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    }
  } finally {
    await admin.end();
  }
}
