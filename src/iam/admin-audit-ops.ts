/**
 * Admin operations over the audit log and authorization, for the web console (which has
 * no other way in than signed calls): `KeyholdAdmin.QueryAudit`, `KeyholdAdmin.VerifyAudit`
 * and `KeyholdAdmin.ExplainAuthorization`. They run the same code as `keyhold audit
 * query|verify` and `keyhold authz explain`, under the admin API's rule: only the root of
 * the account may call them, and an account sees only its own events and keys.
 */
import { formatEventTime } from '../audit/event.js';
import type { Principal } from '../auth/principal.js';
import { ExplainKeyNotFound, explainAuthorization } from '../kms/access/explain.js';
import type { AuditRow } from '../storage/repository.js';
import type { AdminOp, Input, Output } from './admin-api.js';
import { iamError } from '../errors/iam-errors.js';

const MAX_LIMIT = 1000;
const DEFAULT_LIMIT = 100;
/** Rows read per storage query while filtering to the caller's account. */
const PAGE = 500;

const PRINCIPAL_ARN = /^arn:aws:(iam|sts)::\d{12}:(root|user\/.+|assumed-role\/.+)$/;
const ACTION = /^kms:[A-Za-z]+$/;

function optString(i: Input, name: string): string | undefined {
  const v = i[name];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw iamError('ValidationError', `${name} must be a string`);
  return v;
}

function required(i: Input, name: string): string {
  const v = optString(i, name);
  if (v === undefined)
    throw iamError(
      'ValidationError',
      `1 validation error detected: Value null at '${name}' failed to satisfy constraint: Member must not be null`,
    );
  return v;
}

/** AWS JSON timestamps are epoch seconds; ISO 8601 strings are accepted too. */
function optTime(i: Input, name: string): string | undefined {
  const v = i[name];
  if (v === undefined || v === null) return undefined;
  const d = typeof v === 'number' ? new Date(v * 1000) : typeof v === 'string' ? new Date(v) : null;
  if (d === null || Number.isNaN(d.getTime()))
    throw iamError('ValidationError', `${name} must be a timestamp (epoch seconds or ISO 8601)`);
  return formatEventTime(d);
}

function limitOf(i: Input): number {
  const v = i['Limit'];
  if (v === undefined || v === null) return DEFAULT_LIMIT;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > MAX_LIMIT)
    throw iamError('ValidationError', `Limit must be an integer from 1 to ${MAX_LIMIT}`);
  return v;
}

/**
 * The cursor: the last seq returned. Oldest first it is the bare number (as it always was);
 * newest first it reads `older-<seq>`, so a token cannot be replayed in the other order.
 */
function cursorOf(i: Input, newestFirst: boolean): number | undefined {
  const t = optString(i, 'NextToken');
  if (t === undefined) return undefined;
  const m = (newestFirst ? /^older-(\d+)$/ : /^(\d+)$/).exec(t);
  const n = Number(m?.[1]);
  if (m === null || !Number.isSafeInteger(n))
    throw iamError('ValidationError', 'NextToken is not valid');
  return n;
}

const tokenOf = (seq: number, newestFirst: boolean) => (newestFirst ? `older-${seq}` : String(seq));

/** `Order`: OldestFirst (the default, chain order) or NewestFirst (the console's view). */
function newestFirstOf(i: Input): boolean {
  const v = optString(i, 'Order') ?? 'OldestFirst';
  if (v !== 'OldestFirst' && v !== 'NewestFirst')
    throw iamError('ValidationError', 'Order must be OldestFirst or NewestFirst');
  return v === 'NewestFirst';
}

function stringMap(i: Input, name: string): Record<string, string> | undefined {
  const v = i[name];
  if (v === undefined || v === null) return undefined;
  if (
    typeof v !== 'object' ||
    Array.isArray(v) ||
    Object.values(v).some((x) => typeof x !== 'string')
  )
    throw iamError('ValidationError', `${name} must be a map of strings`);
  return v as Record<string, string>;
}

const callerAccount = (i: Input, c: Principal) => optString(i, 'AccountId') ?? c.accountId;

function accountOf(row: AuditRow): string | undefined {
  try {
    return (JSON.parse(row.body) as { recipientAccountId?: string }).recipientAccountId;
  } catch {
    return undefined;
  }
}

export const AUDIT_AUTHZ_OPS: Readonly<Record<string, AdminOp>> = {
  /**
   * Events by key ARN, principal ARN, event name and time, oldest first or (Order
   * NewestFirst) newest first; paged by NextToken in the same order.
   */
  QueryAudit: {
    readOnly: true,
    account: callerAccount,
    run: async (_ids, i, c, env) => {
      const account = callerAccount(i, c);
      const limit = limitOf(i);
      const newestFirst = newestFirstOf(i);
      const filter = {
        keyArn: optString(i, 'KeyArn'),
        principalArn: optString(i, 'PrincipalArn'),
        eventName: optString(i, 'EventName'),
        from: optTime(i, 'StartTime'),
        to: optTime(i, 'EndTime'),
        newestFirst,
      };
      const events: unknown[] = [];
      let cursor = cursorOf(i, newestFirst);
      let more = true;
      // The log holds every account's events: keep only the caller's, page by page.
      while (events.length < limit && more) {
        const rows = await env.deps.audit.query({
          ...filter,
          ...(newestFirst ? { beforeSeq: cursor } : { afterSeq: cursor ?? 0 }),
          limit: PAGE,
        });
        more = rows.length === PAGE;
        for (const [n, row] of rows.entries()) {
          cursor = row.seq;
          if (accountOf(row) !== account) continue;
          events.push(JSON.parse(row.body));
          if (events.length === limit) {
            // More may follow: rows left in this batch, or a full batch (more beyond it).
            more ||= n < rows.length - 1;
            break;
          }
        }
      }
      return {
        Events: events,
        ...(more && cursor !== undefined ? { NextToken: tokenOf(cursor, newestFirst) } : {}),
      };
    },
  },
  /** Walk the hash chain up to the current head: `keyhold audit verify` on the live node. */
  VerifyAudit: {
    readOnly: true,
    account: callerAccount,
    run: async (_ids, _i, _c, env) => {
      const r = await env.deps.audit.verify();
      return {
        Valid: r.ok,
        EventsVerified: r.events,
        ...(r.problem !== undefined
          ? { Problem: { Seq: r.problem.seq, Reason: r.problem.reason } }
          : {}),
        // Log resets recorded in the chain (`keyhold serve --audit-reset`): events before are gone.
        Resets: r.resets.map((x) => ({
          Seq: x.seq,
          EventTime: x.eventTime,
          Reason: x.reason,
          ...(x.previousAnchor !== null
            ? {
                PreviousAnchor: {
                  Seq: x.previousAnchor.seq,
                  ChainHash: x.previousAnchor.chainHash,
                },
              }
            : {}),
        })),
        ...(r.head !== undefined
          ? { Head: { Seq: r.head.seq, ChainHash: r.head.chainHash.toString('hex') } }
          : {}),
        ...(r.anchor !== undefined ? { AnchorSeq: r.anchor.seq } : {}),
        CheckedAt: env.now.getTime() / 1000,
      };
    },
  },
  /** The decision for a principal, action and key, and why (`keyhold authz explain`). */
  ExplainAuthorization: {
    readOnly: true,
    account: callerAccount,
    run: async (_ids, i, c, env) => {
      const principalArn = required(i, 'PrincipalArn');
      const action = required(i, 'Action');
      if (!PRINCIPAL_ARN.test(principalArn))
        throw iamError('ValidationError', `'${principalArn}' is not a principal ARN`);
      if (!ACTION.test(action))
        throw iamError('ValidationError', `'${action}' is not a KMS action such as kms:Decrypt`);
      const region = optString(i, 'Region') ?? env.region;
      const key = required(i, 'KeyId');
      try {
        const result = await explainAuthorization(
          env.deps.services.storage,
          {
            principalArn,
            action,
            key,
            region,
            encryptionContext: stringMap(i, 'EncryptionContext'),
            sourceIp: optString(i, 'SourceIp') ?? env.sourceIp,
            now: env.now,
          },
          callerAccount(i, c),
        );
        return { Explanation: result } satisfies Output;
      } catch (err) {
        if (err instanceof ExplainKeyNotFound)
          throw iamError('NoSuchEntity', `Key '${key}' does not exist in ${region}`);
        throw err;
      }
    },
  },
};
