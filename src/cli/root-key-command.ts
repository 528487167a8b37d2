/**
 * `keyhold root-key change-passphrase --data-dir <dir>`: re-wrap the root key under a new
 * passphrase (scrypt N=2^17), offline or while nodes run (the root key itself does not
 * change). The current passphrase comes from KEYHOLD_ROOT_PASSPHRASE(_FILE) and may be
 * shorter than today's minimum (that is what this is for); the new one from
 * KEYHOLD_NEW_ROOT_PASSPHRASE(_FILE); without it the root key is re-wrapped under the current
 * one (an upgrade to N=2^17 without starting a node). KEYHOLD_STORAGE_URL selects PostgreSQL.
 * The opened root key is checked against the stored domain keys before anything is written.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { ConfigError } from '../config/config.js';
import { verifyDomainKeys } from '../hsm/domain-keys.js';
import { dataDirWrapStore, derivePurposeKey } from '../hsm/root-key.js';
import { changeRootPassphrase, type RootWrapStore } from '../hsm/root-passphrase.js';
import { pgWrapStore } from '../server/storage-select.js';
import type { DomainKeyRepository } from '../storage/repository.js';
import { PostgresStorage } from '../storage/postgres/pg-storage.js';
import { SqliteStorage } from '../storage/sqlite/sqlite-storage.js';

export function registerRootKeyCommands(program: Command): void {
  program
    .command('root-key')
    .description('the root key under its passphrase')
    .command('change-passphrase')
    .description(
      're-wrap the root key (scrypt N=2^17) under KEYHOLD_NEW_ROOT_PASSPHRASE, or under the current KEYHOLD_ROOT_PASSPHRASE',
    )
    .option('-d, --data-dir <dir>', 'data directory (env KEYHOLD_DATA_DIR, default ./.keyhold)')
    .action(async (o: { dataDir?: string }) => {
      const dir = resolve(o.dataDir ?? process.env.KEYHOLD_DATA_DIR ?? './.keyhold');
      const current = secret('KEYHOLD_ROOT_PASSPHRASE');
      const next = optionalSecret('KEYHOLD_NEW_ROOT_PASSPHRASE') ?? current;
      const url = process.env.KEYHOLD_STORAGE_URL;
      await withStore(dir, url, async (repo, store) => {
        await changeRootPassphrase(current, next, store, async (root) => {
          const wrap = derivePurposeKey(root, 'domain-key-wrap');
          try {
            if (verifyDomainKeys(await repo.listDomainKeys(), wrap) === 0)
              throw new ConfigError('no domain keys in this store to check the passphrase against');
          } finally {
            wrap.zeroize();
          }
        });
        const which = next === current ? 'the same' : 'the new';
        process.stdout.write(`root key re-wrapped under ${which} passphrase (${store.where})\n`);
      });
    });
}

async function withStore(
  dir: string,
  url: string | undefined,
  fn: (repo: DomainKeyRepository, store: RootWrapStore) => Promise<void>,
): Promise<void> {
  if (url !== undefined && url !== '') {
    const pg = await PostgresStorage.open(url);
    try {
      await fn(pg, pgWrapStore(pg));
    } finally {
      await pg.close();
    }
    return;
  }
  const db = join(dir, 'keyhold.db');
  if (!existsSync(db)) throw new ConfigError(`no keyhold store in ${dir}`);
  const sqlite = new SqliteStorage(db);
  try {
    await fn(sqlite, dataDirWrapStore(dir));
  } finally {
    await sqlite.close();
  }
}

function secret(name: string): string {
  const v = optionalSecret(name);
  if (v === undefined) throw new ConfigError(`set ${name} (or ${name}_FILE)`);
  return v;
}

function optionalSecret(name: string): string | undefined {
  const file = process.env[`${name}_FILE`];
  const v =
    file !== undefined && file !== '' ? readFileSync(file, 'utf8').trim() : process.env[name];
  return v === undefined || v === '' ? undefined : v;
}
