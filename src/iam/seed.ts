/**
 * The seed file: accounts, their root access keys, IAM users (with access keys given by
 * reference), roles with trust policies, and inline identity policies, applied at start.
 * Applying is idempotent and additive: what exists is updated to match, nothing absent from
 * the file is deleted. Secrets are never in the file itself: `secretAccessKeyFile` (a path,
 * relative to the seed file) or `secretAccessKeyEnv` (an environment variable name).
 * Format and example: docs/identities.md.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { rootArn } from '../auth/principal.js';
import type { Authenticator } from '../auth/authenticator.js';
import { ConfigError } from '../config/config.js';
import type { Clock } from '../config/clock.js';
import type { Storage } from '../storage/repository.js';
import { IamError } from '../errors/iam-errors.js';
import type { IdentityService } from './identity-service.js';

export interface SeedAccessKey {
  accessKeyId: string;
  secretAccessKeyFile?: string;
  secretAccessKeyEnv?: string;
}

export interface SeedUser {
  name: string;
  path?: string;
  accessKeys?: SeedAccessKey[];
  /** PolicyName → policy document (a JSON object, or its text). */
  policies?: Record<string, unknown>;
}

export interface SeedRole {
  name: string;
  path?: string;
  trustPolicy: unknown;
  maxSessionDuration?: number;
  description?: string;
  policies?: Record<string, unknown>;
}

export interface SeedAccount {
  id: string;
  rootAccessKeys?: SeedAccessKey[];
  users?: SeedUser[];
  roles?: SeedRole[];
  /** KMS keys with aliases (src/server/seed-keys.ts). */
  keys?: unknown[];
}

export interface SeedFile {
  accounts: SeedAccount[];
}

export interface SeedSummary {
  accounts: number;
  users: number;
  roles: number;
  accessKeys: number;
  policies: number;
}

export async function loadSeedFile(
  path: string,
  deps: {
    identities: IdentityService;
    authenticator: Authenticator;
    storage: Storage;
    clock: Clock;
    env?: NodeJS.ProcessEnv;
  },
): Promise<SeedSummary> {
  const file = resolve(path);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(`seed file ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const seed = checkSeed(raw, file);
  try {
    return await applySeed(seed, { ...deps, baseDir: dirname(file), env: deps.env ?? process.env });
  } catch (err) {
    if (err instanceof IamError || err instanceof ConfigError)
      throw new ConfigError(`seed file ${file}: ${err.message}`);
    throw err;
  }
}

export async function applySeed(
  seed: SeedFile,
  deps: {
    identities: IdentityService;
    authenticator: Authenticator;
    storage: Storage;
    clock: Clock;
    baseDir: string;
    env: NodeJS.ProcessEnv;
  },
): Promise<SeedSummary> {
  const ids = deps.identities;
  const iam = deps.storage.iam;
  const sum: SeedSummary = { accounts: 0, users: 0, roles: 0, accessKeys: 0, policies: 0 };
  const secretOf = (k: SeedAccessKey, where: string): string => {
    if (k.secretAccessKeyFile !== undefined)
      return readFileSync(resolve(deps.baseDir, k.secretAccessKeyFile), 'utf8').trim();
    const name = k.secretAccessKeyEnv as string;
    const v = deps.env[name];
    if (v === undefined || v === '')
      throw new ConfigError(`${where}: environment variable ${name} is not set`);
    return v;
  };
  for (const acct of seed.accounts) {
    await ids.ensureAccount(acct.id);
    sum.accounts++;
    for (const k of acct.rootAccessKeys ?? []) {
      const where = `account ${acct.id} root key ${k.accessKeyId}`;
      const other = await deps.storage.getAccessKey(k.accessKeyId);
      if (other !== undefined && other.principalArn !== rootArn(acct.id))
        throw new ConfigError(`${where}: the access key id belongs to ${other.principalArn}`);
      await deps.authenticator.putAccessKey(
        k.accessKeyId,
        secretOf(k, where),
        rootArn(acct.id),
        deps.clock.now(),
      );
      sum.accessKeys++;
    }
    for (const u of acct.users ?? []) {
      const existing = await iam.getUserByName(acct.id, u.name);
      const user =
        existing ??
        (await ids.createUser({
          accountId: acct.id,
          name: u.name,
          ...(u.path !== undefined ? { path: u.path } : {}),
        }));
      sum.users++;
      for (const k of u.accessKeys ?? []) {
        const secret = secretOf(k, `user ${user.arn} key ${k.accessKeyId}`);
        await ids.createAccessKey(user.arn, {
          accessKeyId: k.accessKeyId,
          secretAccessKey: secret,
        });
        sum.accessKeys++;
      }
      for (const [name, doc] of Object.entries(u.policies ?? {})) {
        await ids.putPolicy(user.arn, name, policyText(doc));
        sum.policies++;
      }
    }
    for (const r of acct.roles ?? []) {
      const existing = await iam.getRoleByName(acct.id, r.name);
      const trustPolicy = policyText(r.trustPolicy);
      const role =
        existing === undefined
          ? await ids.createRole({
              accountId: acct.id,
              name: r.name,
              trustPolicy,
              ...(r.path !== undefined ? { path: r.path } : {}),
              ...(r.maxSessionDuration !== undefined
                ? { maxSessionDuration: r.maxSessionDuration }
                : {}),
              ...(r.description !== undefined ? { description: r.description } : {}),
            })
          : await ids.updateRole(existing.arn, {
              trustPolicy,
              ...(r.maxSessionDuration !== undefined
                ? { maxSessionDuration: r.maxSessionDuration }
                : {}),
              ...(r.description !== undefined ? { description: r.description } : {}),
            });
      sum.roles++;
      for (const [name, doc] of Object.entries(r.policies ?? {})) {
        await ids.putPolicy(role.arn, name, policyText(doc));
        sum.policies++;
      }
    }
  }
  return sum;
}

function policyText(doc: unknown): string {
  return typeof doc === 'string' ? doc : JSON.stringify(doc);
}

/** Structural check with messages that name the offending place. */
export function checkSeed(raw: unknown, file = 'seed'): SeedFile {
  const fail = (where: string, msg: string): never => {
    throw new ConfigError(`seed file ${file}: ${where}: ${msg}`);
  };
  const obj = (v: unknown, where: string, allowed: readonly string[]): Record<string, unknown> => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(where, 'must be an object');
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) if (!allowed.includes(k)) fail(where, `unknown field '${k}'`);
    return o;
  };
  const arr = (v: unknown, where: string): unknown[] => {
    if (v === undefined) return [];
    if (!Array.isArray(v)) fail(where, 'must be an array');
    return v as unknown[];
  };
  const strField = (o: Record<string, unknown>, k: string, where: string, required: boolean) => {
    const v = o[k];
    if (v === undefined && !required) return;
    if (typeof v !== 'string' || v === '') fail(where, `'${k}' must be a non-empty string`);
  };
  const policies = (v: unknown, where: string) => {
    if (v === undefined) return;
    const o = obj(v, where, Object.keys((v ?? {}) as object));
    for (const [name, doc] of Object.entries(o))
      if (typeof doc !== 'string' && (typeof doc !== 'object' || doc === null))
        fail(`${where}.${name}`, 'must be a policy document (object or JSON text)');
  };
  const key = (v: unknown, where: string) => {
    const o = obj(v, where, [
      'accessKeyId',
      'secretAccessKeyFile',
      'secretAccessKeyEnv',
      'secretAccessKey',
    ]);
    if (o.secretAccessKey !== undefined)
      fail(
        where,
        "secrets are given by reference: use 'secretAccessKeyFile' or 'secretAccessKeyEnv'",
      );
    strField(o, 'accessKeyId', where, true);
    if ((o.secretAccessKeyFile === undefined) === (o.secretAccessKeyEnv === undefined))
      fail(where, "give exactly one of 'secretAccessKeyFile' and 'secretAccessKeyEnv'");
    strField(o, 'secretAccessKeyFile', where, false);
    strField(o, 'secretAccessKeyEnv', where, false);
  };
  const top = obj(raw, '(top level)', ['accounts']);
  arr(top.accounts, 'accounts').forEach((a, i) => {
    const w = `accounts[${i}]`;
    // `keys` (KMS keys with aliases) are applied by src/server/seed-keys.ts.
    const o = obj(a, w, ['id', 'rootAccessKeys', 'users', 'roles', 'keys']);
    if (typeof o.id !== 'string' || !/^\d{12}$/.test(o.id))
      fail(w, "'id' must be a 12-digit string");
    arr(o.rootAccessKeys, `${w}.rootAccessKeys`).forEach((k, j) =>
      key(k, `${w}.rootAccessKeys[${j}]`),
    );
    arr(o.users, `${w}.users`).forEach((u, j) => {
      const uw = `${w}.users[${j}]`;
      const uo = obj(u, uw, ['name', 'path', 'accessKeys', 'policies']);
      strField(uo, 'name', uw, true);
      strField(uo, 'path', uw, false);
      arr(uo.accessKeys, `${uw}.accessKeys`).forEach((k, n) => key(k, `${uw}.accessKeys[${n}]`));
      policies(uo.policies, `${uw}.policies`);
    });
    arr(o.roles, `${w}.roles`).forEach((r, j) => {
      const rw = `${w}.roles[${j}]`;
      const ro = obj(r, rw, [
        'name',
        'path',
        'trustPolicy',
        'maxSessionDuration',
        'description',
        'policies',
      ]);
      strField(ro, 'name', rw, true);
      strField(ro, 'path', rw, false);
      if (ro.trustPolicy === undefined) fail(rw, "'trustPolicy' is required");
      if (ro.maxSessionDuration !== undefined && typeof ro.maxSessionDuration !== 'number')
        fail(rw, "'maxSessionDuration' must be a number of seconds");
      if (ro.description !== undefined && typeof ro.description !== 'string')
        fail(rw, "'description' must be a string");
      policies(ro.policies, `${rw}.policies`);
    });
  });
  return raw as SeedFile;
}
