/**
 * `keyhold audit verify | tail | query`: read-only commands over the audit log.
 * Events are printed one per line, exactly as stored (CloudTrail JSON).
 */

import { InvalidArgumentError, type Command } from 'commander';
import { formatEventTime } from '../audit/event.js';
import { verifyAudit } from '../audit/verify.js';
import type { AuditRepository, AuditRow } from '../storage/repository.js';

/** How the CLI reaches a data dir's audit log (wired by the lead in main.ts). */
export type OpenAudit = (dataDir: string) => Promise<{
  repo: AuditRepository;
  auditKey: Buffer;
  close: () => Promise<void>;
  /** PostgreSQL mode: one chain per node; verify checks each (repo is the first). */
  chains?: Array<{ id: string; repo: AuditRepository }>;
}>;

const FOLLOW_INTERVAL_MS = 500;
const PAGE = 1000;

function defaultDataDir(): string {
  return process.env['KEYHOLD_DATA_DIR'] ?? './.keyhold';
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0)
    throw new InvalidArgumentError('expected a positive integer');
  return n;
}

/** Any Date-parsable time → the stored event_time format, so string comparison is time order. */
function isoTime(value: string): string {
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) throw new InvalidArgumentError('expected an ISO 8601 time');
  return formatEventTime(d);
}

function printRows(rows: AuditRow[]): void {
  for (const r of rows) process.stdout.write(r.body + '\n');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function withAudit<T>(
  openAudit: OpenAudit,
  dataDir: string,
  fn: (repo: AuditRepository, auditKey: Buffer) => Promise<T>,
): Promise<T> {
  const audit = await openAudit(dataDir);
  try {
    return await fn(audit.repo, audit.auditKey);
  } finally {
    await audit.close();
  }
}

async function runVerify(repo: AuditRepository, auditKey: Buffer): Promise<void> {
  const result = await verifyAudit(repo, auditKey);
  if (result.ok) {
    process.stdout.write(`audit log OK: ${result.events} events verified\n`);
    return;
  }
  const p = result.problem;
  process.stderr.write(
    `audit log FAILED at seq ${p?.seq ?? '?'}: ${p?.reason ?? 'unknown problem'} ` +
      `(${result.events} events verified before it)\n`,
  );
  process.exitCode = 1;
}

async function runTail(repo: AuditRepository, lines: number, follow: boolean): Promise<void> {
  const head = await repo.getAuditHead();
  let last = Math.max(0, (head?.seq ?? 0) - lines);
  for (;;) {
    const rows = await repo.readAudit(last, PAGE);
    printRows(rows);
    const tail = rows[rows.length - 1];
    if (tail !== undefined) last = tail.seq;
    if (rows.length === PAGE) continue;
    if (!follow) return;
    await sleep(FOLLOW_INTERVAL_MS);
  }
}

interface QueryOptions {
  dataDir: string;
  keyId?: string;
  principal?: string;
  event?: string;
  from?: string;
  to?: string;
  limit: number;
}

/** Register the `audit` command group on the keyhold program. */
export function registerAuditCommands(program: Command, openAudit: OpenAudit): void {
  const audit = program.command('audit').description('inspect and verify the audit log');
  const dataDirFlag = '--data-dir <dir>';
  const dataDirHelp = 'data directory (env KEYHOLD_DATA_DIR)';

  audit
    .command('verify')
    .description(
      'check the hash chain; exit code 1 when an event was changed, removed or reordered',
    )
    .option(dataDirFlag, dataDirHelp, defaultDataDir())
    .action(async (opts: { dataDir: string }) => {
      const audit = await openAudit(opts.dataDir);
      try {
        for (const c of audit.chains ?? [{ id: '', repo: audit.repo }]) {
          if (c.id !== '') process.stdout.write(`chain ${c.id}: `);
          await runVerify(c.repo, audit.auditKey);
        }
      } finally {
        await audit.close();
      }
    });

  audit
    .command('tail')
    .description('print the newest events as JSON lines')
    .option(dataDirFlag, dataDirHelp, defaultDataDir())
    .option('-n, --lines <n>', 'number of events', positiveInt, 10)
    .option('-f, --follow', 'keep printing new events as they are recorded', false)
    .action(async (opts: { dataDir: string; lines: number; follow: boolean }) => {
      await withAudit(openAudit, opts.dataDir, (repo) => runTail(repo, opts.lines, opts.follow));
    });

  audit
    .command('query')
    .description('print matching events (oldest first) as JSON lines')
    .option(dataDirFlag, dataDirHelp, defaultDataDir())
    .option('--key-id <arn>', 'events that touched this key ARN')
    .option('--principal <arn>', 'events by this principal ARN')
    .option('--event <name>', 'events of this operation, e.g. Decrypt')
    .option('--from <time>', 'events at or after this ISO 8601 time', isoTime)
    .option('--to <time>', 'events at or before this ISO 8601 time', isoTime)
    .option('--limit <n>', 'most events to print', positiveInt, 100)
    .action(async (opts: QueryOptions) => {
      await withAudit(openAudit, opts.dataDir, async (repo) => {
        const rows = await repo.queryAudit({
          keyArn: opts.keyId,
          principalArn: opts.principal,
          eventName: opts.event,
          from: opts.from,
          to: opts.to,
          limit: opts.limit,
        });
        printRows(rows);
      });
    });
}
