/**
 * `keyhold audit verify | tail | query`: read-only commands over the audit log.
 * Events are printed one per line, exactly as stored (CloudTrail JSON).
 */

import { InvalidArgumentError, type Command } from 'commander';
import type { AuditAnchorStore } from '../audit/anchor.js';
import { formatEventTime } from '../audit/event.js';
import { verifyAudit, type AuditVerifyResult } from '../audit/verify.js';
import type { AuditRepository, AuditRow } from '../storage/repository.js';

/** How the CLI reaches a data dir's audit log (wired by the lead in main.ts). */
export type OpenAudit = (dataDir: string) => Promise<{
  repo: AuditRepository;
  auditKey: Buffer;
  close: () => Promise<void>;
  /** PostgreSQL mode: one chain per node; verify checks each (repo is the first). */
  chains?: Array<{ id: string; repo: AuditRepository }>;
  /** The chains' anchors in the main database; verify checks each chain against its own. */
  anchors?: AuditAnchorStore;
  /** The chain id of `repo` when `chains` is absent (SQLite: `local`). */
  chainId?: string;
}>;

/** Exit code of `audit verify` when the chain is intact but records a log reset. */
export const EXIT_RESET = 2;

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

function accountId(value: string): string {
  if (!/^\d{12}$/.test(value)) throw new InvalidArgumentError('expected a 12-digit account id');
  return value;
}

function recipientOf(row: AuditRow): string | undefined {
  try {
    return (JSON.parse(row.body) as { recipientAccountId?: string }).recipientAccountId;
  } catch {
    return undefined;
  }
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

/** `[chain=]seq:hash` from an earlier verify's output. */
function parseExpect(value: string, previous: Expectation[] = []): Expectation[] {
  const m = /^(?:([A-Za-z0-9._:-]+)=)?(\d{1,16}):([0-9a-f]{64})$/.exec(value);
  if (m === null) throw new InvalidArgumentError('expected [chain=]seq:chain-hash (64 hex digits)');
  return [
    ...previous,
    { chainId: m[1], seq: Number(m[2]), chainHash: Buffer.from(m[3] as string, 'hex') },
  ];
}

interface Expectation {
  chainId: string | undefined;
  seq: number;
  chainHash: Buffer;
}

function report(result: AuditVerifyResult): void {
  const out = process.stdout;
  if (!result.ok) {
    const p = result.problem;
    process.stderr.write(
      `audit log FAILED at seq ${p?.seq ?? '?'}: ${p?.reason ?? 'unknown problem'} ` +
        `(${result.events} events verified before it)\n`,
    );
    process.exitCode = 1;
    return;
  }
  const n = result.resets.length;
  out.write(
    n === 0
      ? `audit log OK: ${result.events} events verified\n`
      : `audit log verified with ${n} reset${n === 1 ? '' : 's'}: ${result.events} events verified; events before a reset are not in this log\n`,
  );
  for (const r of result.resets) {
    const prev = r.previousAnchor;
    out.write(
      `  log reset at seq ${r.seq} (${r.eventTime}): ${r.reason}; previous anchor: ` +
        (prev === null ? 'none' : `seq ${prev.seq}, chain hash ${prev.chainHash}`) +
        '\n',
    );
  }
  const h = result.head;
  out.write(
    h === undefined
      ? '  head: none (empty log)\n'
      : `  head: ${h.seq}:${h.chainHash.toString('hex')} (keep it elsewhere; --expect with it detects a later rollback)\n`,
  );
  const a = result.anchor;
  out.write(
    a === undefined
      ? '  anchor: none in the main database\n'
      : `  anchor: seq ${a.seq} in the main database\n`,
  );
  if (n > 0 && process.exitCode === undefined) process.exitCode = EXIT_RESET;
}

async function runVerify(
  repo: AuditRepository,
  auditKey: Buffer,
  chainId: string,
  anchors: AuditAnchorStore | undefined,
  expect: Expectation | undefined,
): Promise<void> {
  const anchor =
    anchors === undefined
      ? undefined
      : {
          chainId,
          anchor: await anchors.getAnchor(chainId),
          hasHistory: await anchors.hasHistory(),
        };
  const result = await verifyAudit(repo, auditKey, {
    ...(anchor !== undefined ? { anchor } : {}),
    ...(expect !== undefined ? { expect } : {}),
  });
  report(result);
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
  account?: string;
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
      'check the hash chain and its anchor; exit code 1 when an event was changed, removed or ' +
        'reordered or the log was emptied, cut back or replaced; 2 when it records a log reset',
    )
    .option(dataDirFlag, dataDirHelp, defaultDataDir())
    .option(
      '--expect <[chain=]seq:hash>',
      'a head printed by an earlier verify: fail unless the log still holds it (repeatable)',
      parseExpect,
    )
    .action(async (opts: { dataDir: string; expect?: Expectation[] }) => {
      const audit = await openAudit(opts.dataDir);
      try {
        const single = audit.chains === undefined;
        const chains = audit.chains ?? [{ id: audit.chainId ?? 'local', repo: audit.repo }];
        for (const c of chains) {
          if (!single) process.stdout.write(`chain ${c.id}: `);
          const expect = opts.expect?.find(
            (e) =>
              e.chainId === c.id || (e.chainId === undefined && (single || chains.length === 1)),
          );
          await runVerify(c.repo, audit.auditKey, c.id, audit.anchors, expect);
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
    .option(
      '--account <id>',
      "events delivered to this account (its own calls, and other accounts' use of its keys)",
      accountId,
    )
    .action(async (opts: QueryOptions) => {
      await withAudit(openAudit, opts.dataDir, async (repo) => {
        const filter = {
          keyArn: opts.keyId,
          principalArn: opts.principal,
          eventName: opts.event,
          from: opts.from,
          to: opts.to,
        };
        if (opts.account === undefined) {
          printRows(await repo.queryAudit({ ...filter, limit: opts.limit }));
          return;
        }
        // The recipient account is in the body only: filter page by page.
        let printed = 0;
        let afterSeq = 0;
        for (;;) {
          const rows = await repo.queryAudit({ ...filter, afterSeq, limit: PAGE });
          for (const r of rows) {
            afterSeq = r.seq;
            if (recipientOf(r) !== opts.account) continue;
            printRows([r]);
            if (++printed === opts.limit) return;
          }
          if (rows.length < PAGE) return;
        }
      });
    });
}
