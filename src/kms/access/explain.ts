/**
 * "Why was this allowed or denied?": the decision keyhold would make for a principal, an
 * IAM action and a key, with every statement, grant and condition considered. Shared by
 * `keyhold authz explain` (offline, on a data dir) and the admin API's
 * `KeyholdAdmin.ExplainAuthorization` (the console's "why was this denied?").
 */
import { principalFromArn } from '../../auth/principal.js';
import type { Decision } from '../../authz/policy/decide.js';
import type { Storage } from '../../storage/repository.js';
import { parseKeyIdentifier } from '../keys/arn.js';
import { explainKey } from './authorize.js';

export interface ExplainRequest {
  principalArn: string;
  /** IAM action, e.g. `kms:Decrypt`. */
  action: string;
  /** Key id or key ARN. */
  key: string;
  region: string;
  encryptionContext?: Record<string, string> | undefined;
  sourceIp: string;
  now: Date;
}

export type ExplainResult = { key: string; principal: string; action: string } & Decision;

/** Thrown when the key does not exist in the Region (the CLI prints it, the API maps it). */
export class ExplainKeyNotFound extends Error {
  constructor(key: string, region: string) {
    super(`no key ${key} in ${region}`);
    this.name = 'ExplainKeyNotFound';
  }
}

/** Parse `k=v` pairs (the CLI's repeatable --context flag) into an encryption context. */
export function contextFromPairs(pairs: string[]): Record<string, string> | undefined {
  if (pairs.length === 0) return undefined;
  return Object.fromEntries(
    pairs.map((pair) => {
      const i = pair.indexOf('=');
      return i < 0 ? [pair, ''] : [pair.slice(0, i), pair.slice(i + 1)];
    }),
  );
}

/**
 * Explain one decision. `accountId`, when given, limits the lookup to that account's keys
 * (an account's admin may not explain another account's key).
 */
export async function explainAuthorization(
  storage: Storage,
  req: ExplainRequest,
  accountId?: string,
): Promise<ExplainResult> {
  const id = parseKeyIdentifier(req.key);
  const keyId = id.kind === 'id' || id.kind === 'keyArn' ? id.keyId : undefined;
  const key = keyId === undefined ? undefined : await storage.getKey(req.region, keyId);
  if (key === undefined || (accountId !== undefined && key.accountId !== accountId))
    throw new ExplainKeyNotFound(req.key, req.region);
  const ctx = {
    principal: principalFromArn(req.principalArn, 'EXPLAIN'),
    now: req.now,
    sourceIp: req.sourceIp,
    region: req.region,
    services: { storage },
  };
  const { decision } = await explainKey(ctx, key, req.action, {
    encryptionContext: req.encryptionContext,
  });
  return { key: key.arn, principal: req.principalArn, action: req.action, ...decision };
}
