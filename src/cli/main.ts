#!/usr/bin/env node
/**
 * The `keyhold` command: `serve` starts a node on the embedded default (SQLite + software
 * HSM); `audit verify|tail|query` read the audit log.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { ConfigError, DEFAULT_PORT, loadConfig } from '../config/config.js';
import { RootKeyMismatchError } from '../hsm/domain-keys.js';
import { derivePurposeKey, openRootKey } from '../hsm/root-key.js';
import { RootPassphraseError } from '../hsm/root-passphrase.js';
import { startKeyhold } from '../server/app.js';
import { openAuditDb } from '../storage/sqlite/audit-db.js';
import { SqliteAuditRepository } from '../storage/sqlite/sqlite-audit.js';
import { SqliteAuditAnchors } from '../storage/sqlite/sqlite-audit-anchors.js';
import Database from '../storage/sqlite/driver.js';
import { AuditAnchorError } from '../audit/audit-log.js';
import { registerAdminCommands } from './admin-commands.js';
import { registerAuditCommands } from './audit-commands.js';
import { registerAuthzCommands } from './authz-commands.js';
import { openPostgresAudit } from './pg-audit-open.js';
import { registerRootKeyCommands } from './root-key-command.js';
import { registerXksProxyCommand } from './xks-proxy-command.js';

const program = new Command();
program
  .name('keyhold')
  .description('A self-hosted key management service that speaks the AWS KMS API');

program
  .command('serve')
  .description('start a keyhold node on the embedded default (SQLite + software HSM)')
  .option('-p, --port <port>', `TCP port (env KEYHOLD_PORT, default ${DEFAULT_PORT})`, parsePort)
  .option('-d, --data-dir <dir>', 'data directory (env KEYHOLD_DATA_DIR, default ./.keyhold)')
  .option('--host <host>', 'address to listen on (env KEYHOLD_HOST, default 127.0.0.1)')
  .option('--region <region>', 'Region (env KEYHOLD_REGION, default us-east-1)')
  .option('--account-id <id>', 'account id (env KEYHOLD_ACCOUNT_ID, default 111122223333)')
  .option('--log-level <level>', 'log level (env KEYHOLD_LOG_LEVEL, default info)')
  .option('--seed <file>', 'identities seed file applied at start (env KEYHOLD_SEED_FILE)')
  .option(
    '--storage <url>',
    'postgres://… to share keys among several nodes (env KEYHOLD_STORAGE_URL; default SQLite)',
  )
  .option(
    '--audit-reset',
    'start even though the audit log is missing, behind or replaced, recording a log reset ' +
      '(env KEYHOLD_AUDIT_RESET=1)',
  )
  .action(
    async (flags: {
      port?: number;
      dataDir?: string;
      host?: string;
      region?: string;
      accountId?: string;
      logLevel?: string;
      seed?: string;
      storage?: string;
      auditReset?: boolean;
    }) => {
      const { seed, storage, auditReset, ...rest } = flags;
      const config = loadConfig({
        ...rest,
        ...(auditReset === true ? { auditReset: true } : {}),
        ...(seed !== undefined ? { seedFile: seed } : {}),
        ...(storage !== undefined ? { storageUrl: storage } : {}),
      });
      const node = await startKeyhold(config);
      // Signal handlers first: whoever reads the banner may stop us at once.
      let closing = false;
      const shutdown = (signal: string) => {
        if (closing) return;
        closing = true;
        process.stdout.write(
          `${signal}: finishing in-flight requests and flushing the audit log\n`,
        );
        node.close().then(
          () => process.exit(0),
          (err: unknown) => {
            process.stderr.write(`shutdown failed: ${String(err)}\n`);
            process.exit(1);
          },
        );
      };
      process.on('SIGTERM', () => shutdown('SIGTERM'));
      process.on('SIGINT', () => shutdown('SIGINT'));
      const out = process.stdout;
      // One write, so that whoever watches stdout sees the whole banner at once.
      const lines = [
        `keyhold listening on ${node.url} (Region ${config.region}, account ${config.accountId})`,
        `Regions served: ${config.regions.join(', ')} (more with KEYHOLD_REGIONS)`,
        config.quotas
          ? `request quotas: AWS's rates${config.quotaScale === 1 ? '' : ` ×${config.quotaScale}`} ` +
            '(ThrottlingException; KEYHOLD_QUOTAS=off for development)'
          : 'request quotas: off (KEYHOLD_QUOTAS=off)',
        `data directory: ${config.dataDir}`,
        ...(node.metricsUrl !== undefined ? [`metrics: ${node.metricsUrl}`] : []),
      ];
      if (node.rootKeyCreated) {
        lines.push(
          `WARNING: generated a development root key in ${join(config.dataDir, 'root.key')}. ` +
            'Anyone who reads it can decrypt every key; set KEYHOLD_ROOT_PASSPHRASE in production.',
        );
      }
      if (node.generatedCredentials !== undefined) {
        const c = node.generatedCredentials;
        lines.push(
          'Administrator credentials (account root), shown only this once:',
          `  AWS_ACCESS_KEY_ID=${c.accessKeyId}`,
          `  AWS_SECRET_ACCESS_KEY=${c.secretAccessKey}`,
        );
      }
      out.write(lines.join('\n') + '\n');
    },
  );

registerAuthzCommands(program);
registerXksProxyCommand(program);
registerAdminCommands(program);
registerRootKeyCommands(program);

registerAuditCommands(program, async (dataDir) => {
  const storageUrl = process.env.KEYHOLD_STORAGE_URL;
  if (storageUrl !== undefined && storageUrl !== '') return openPostgresAudit(storageUrl, dataDir);
  const dir = resolve(dataDir);
  const dbPath = join(dir, 'audit.db');
  const mainPath = join(dir, 'keyhold.db');
  if (!existsSync(dbPath)) {
    if (!existsSync(mainPath)) throw new ConfigError(`no keyhold audit log in ${dir}`);
    // A data dir whose audit.db is gone: verify reports it against the anchor.
  }
  const root = await openRootKey({
    dataDir: dir,
    passphrase: process.env.KEYHOLD_ROOT_PASSPHRASE,
    create: false,
  });
  const auditKey = derivePurposeKey(root.key, 'audit-chain');
  root.key.zeroize();
  // An absent audit.db reads as an empty log (in memory: nothing is created in the data dir).
  const db = existsSync(dbPath) ? openAuditDb(dbPath) : openAuditDb(':memory:');
  const main = existsSync(mainPath)
    ? new Database(mainPath, { readonly: true, fileMustExist: true })
    : undefined;
  return {
    repo: new SqliteAuditRepository(db),
    auditKey: auditKey.bytes,
    chainId: 'local',
    ...(main !== undefined ? { anchors: new SqliteAuditAnchors(main) } : {}),
    close: async () => {
      db.close();
      main?.close();
    },
  };
});

function parsePort(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('not a TCP port');
  return n;
}

program.parseAsync(process.argv).catch((err: unknown) => {
  if (
    err instanceof ConfigError ||
    err instanceof RootKeyMismatchError ||
    err instanceof RootPassphraseError ||
    err instanceof AuditAnchorError
  )
    process.stderr.write(`keyhold: ${err.message}\n`);
  else
    process.stderr.write(
      `keyhold: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
  process.exit(1);
});
