#!/usr/bin/env node
/**
 * The `keyhold` command: `serve` starts a node on the embedded default (SQLite + software
 * HSM); `audit verify|tail|query` read the audit log.
 */
import cluster from 'node:cluster';
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { ConfigError, loadConfig, type Config, type ConfigOverrides } from '../config/config.js';
import { KEYHOLD_SETTINGS, type Setting } from '../config/settings.js';
import { flagHelp, keyholdSettingsHelp } from '../config/settings-doc.js';
import { RootKeyMismatchError } from '../hsm/domain-keys.js';
import { derivePurposeKey, openRootKey } from '../hsm/root-key.js';
import { RootPassphraseError } from '../hsm/root-passphrase.js';
import { startKeyhold, type KeyholdNode } from '../server/app.js';
import { reportReady, runPrimary, WORKER_ID_ENV } from '../server/cluster.js';
import { sqliteAuditFile, sqliteChainOfFile } from '../server/storage-select.js';
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

const serve = program
  .command('serve')
  .description('start a keyhold node on the embedded default (SQLite + software HSM)');
// The options and the settings list of --help come from the settings table (config/settings.ts).
for (const s of Object.values(KEYHOLD_SETTINGS) as Array<Setting<unknown>>) {
  const f = s.flag;
  if (f === undefined) continue;
  const option = new Option(
    `${f.short !== undefined ? `-${f.short}, ` : ''}--${f.long}${f.arg !== undefined ? ` ${f.arg}` : ''}`,
    flagHelp(s),
  );
  const parse = f.parse;
  if (parse !== undefined)
    option.argParser((text: string) => {
      try {
        return parse(text);
      } catch (err) {
        throw err instanceof ConfigError ? new InvalidArgumentError(err.message) : err;
      }
    });
  serve.addOption(option);
}
serve.addHelpText('after', keyholdSettingsHelp());
serve.action(async (flags: Record<string, unknown>) => {
  const overrides: Record<string, unknown> = {};
  for (const [key, s] of Object.entries(KEYHOLD_SETTINGS) as Array<[string, Setting<unknown>]>) {
    if (s.flag === undefined) continue;
    const v = flags[camelCase(s.flag.long)];
    // A switch (--audit-reset) only ever turns its setting on.
    if (v !== undefined) overrides[key] = v;
  }
  const workerEnv = process.env[WORKER_ID_ENV];
  const config = loadConfig({
    ...(overrides as ConfigOverrides),
    ...(cluster.isWorker && workerEnv !== undefined ? { workerId: Number(workerEnv) } : {}),
  });
  if (cluster.isWorker) return serveWorker(config);
  if (config.workers > 1) {
    const code = await runPrimary(config, {
      started: ({ first, pids, metricsUrl }) => writeBanner(config, { ...first, metricsUrl }, pids),
      log: (line) => process.stdout.write(line + '\n'),
    });
    process.exit(code);
  }
  const node = await startKeyhold(config);
  // Signal handlers first: whoever reads the banner may stop us at once.
  onStopSignal((signal) => {
    process.stdout.write(`${signal}: finishing in-flight requests and flushing the audit log\n`);
    return node.close();
  });
  writeBanner(config, node, [process.pid]);
});

/** A worker of `--workers N`: a full node; the primary prints the banner and supervises. */
async function serveWorker(config: Readonly<Config>): Promise<void> {
  const state: { node?: KeyholdNode; stopRequested?: boolean } = {};
  // Installed before the start: a SIGTERM during it waits for the start, then drains.
  onStopSignal(async () => {
    state.stopRequested = true;
    await state.node?.close();
  });
  const node = await startKeyhold(config);
  state.node = node;
  if (state.stopRequested === true) {
    await node.close();
    process.exit(0);
  }
  reportReady(node);
}

/** SIGTERM/SIGINT run `close` once, then exit 0 (1 when it failed). */
function onStopSignal(close: (signal: string) => Promise<void>): void {
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    close(signal).then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`shutdown failed: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

function writeBanner(
  config: Readonly<Config>,
  node: Pick<KeyholdNode, 'url' | 'metricsUrl' | 'rootKeyCreated' | 'generatedCredentials'>,
  pids: number[],
): void {
  // One write, so that whoever watches stdout sees the whole banner at once.
  const lines = [
    `keyhold listening on ${node.url} (Region ${config.region}, account ${config.accountId})`,
    `Regions served: ${config.regions.join(', ')} (more with KEYHOLD_REGIONS)`,
    pids.length === 1
      ? `1 worker (pid ${pids[0]}; more with --workers or KEYHOLD_WORKERS)`
      : `${pids.length} workers (pids ${pids.join(', ')})`,
    config.quotas
      ? `request quotas: AWS's rates${config.quotaScale === 1 ? '' : ` ×${config.quotaScale}`} ` +
        `(ThrottlingException${pids.length > 1 ? ', per worker' : ''}; KEYHOLD_QUOTAS=off for development)`
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
  process.stdout.write(lines.join('\n') + '\n');
}

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
  const main = existsSync(mainPath)
    ? new Database(mainPath, { readonly: true, fileMustExist: true })
    : undefined;
  const anchors = main !== undefined ? new SqliteAuditAnchors(main) : undefined;
  // One chain per worker (`--workers N`): every chain with a file or an anchor is checked.
  const ids = new Set<string>(['local', ...((await anchors?.listAnchoredChains()) ?? [])]);
  for (const f of readdirSync(dir)) {
    const id = sqliteChainOfFile(f);
    if (id !== undefined) ids.add(id);
  }
  const dbs: Array<ReturnType<typeof openAuditDb>> = [];
  const chains = [...ids]
    .filter((id) => sqliteAuditFile(id) !== undefined)
    .sort(byWorker)
    .map((id) => {
      const path = join(dir, sqliteAuditFile(id) as string);
      // An absent file reads as an empty log (in memory: nothing is created in the data dir).
      const db = existsSync(path) ? openAuditDb(path) : openAuditDb(':memory:');
      dbs.push(db);
      return { id, repo: new SqliteAuditRepository(db) };
    });
  const first = chains[0] as { id: string; repo: SqliteAuditRepository };
  return {
    repo: first.repo,
    auditKey: auditKey.bytes,
    chainId: 'local',
    ...(chains.length > 1 ? { chains } : {}),
    ...(anchors !== undefined ? { anchors } : {}),
    close: async () => {
      for (const db of dbs) db.close();
      main?.close();
    },
  };
});

/** `local` (worker 1) first, then local-w2, local-w3, … in number order. */
function byWorker(a: string, b: string): number {
  const n = (id: string) => Number(/-w(\d+)$/.exec(id)?.[1] ?? 1);
  return n(a) - n(b);
}

/** `data-dir` → `dataDir`: the attribute commander stores an option under. */
function camelCase(long: string): string {
  return long.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
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
