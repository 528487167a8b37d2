/**
 * The audit log of a PostgreSQL store for `keyhold audit …` (KEYHOLD_STORAGE_URL set): one
 * chain per node. verify walks every chain (every chain with events or with an anchor) and
 * checks each against its anchor; tail and query read the chain of the node id
 * in KEYHOLD_NODE_ID, or the first chain.
 */
import { ConfigError } from '../config/config.js';
import { derivePurposeKey, openRootKey } from '../hsm/root-key.js';
import { pgWrapStore } from '../server/storage-select.js';
import { PgAuditAnchors } from '../storage/postgres/pg-audit-anchors.js';
import { PgAuditRepository } from '../storage/postgres/pg-audit.js';
import { PostgresStorage } from '../storage/postgres/pg-storage.js';
import { resolve } from 'node:path';

export async function openPostgresAudit(url: string, dataDir: string) {
  const pg = await PostgresStorage.open(url);
  try {
    const root = await openRootKey({
      dataDir: resolve(dataDir),
      passphrase: process.env.KEYHOLD_ROOT_PASSPHRASE,
      store: pgWrapStore(pg),
      create: false,
    });
    const auditKey = derivePurposeKey(root.key, 'audit-chain');
    root.key.zeroize();
    const anchors = new PgAuditAnchors(pg.db);
    // A chain whose events and head were deleted still has its anchor: verify it too.
    const ids = [
      ...new Set([
        ...(await PgAuditRepository.listChains(pg.db)),
        ...(await anchors.listAnchoredChains()),
      ]),
    ].sort();
    const wanted = process.env.KEYHOLD_NODE_ID;
    const chains = ids.map((id) => ({ id, repo: new PgAuditRepository(pg.db, id) }));
    const first = chains.find((c) => c.id === wanted) ?? chains[0];
    if (first === undefined) throw new ConfigError('no audit chain in this PostgreSQL store');
    return {
      repo: first.repo,
      auditKey: auditKey.bytes,
      chains,
      anchors,
      close: () => pg.close(),
    };
  } catch (err) {
    await pg.close();
    throw err;
  }
}
