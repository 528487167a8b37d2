/**
 * KMS keys in the seed file (local-kms users expect them): each account may list keys with
 * aliases, description, key spec/usage, policy and tags. They are created through the very
 * operations a client calls (model validation, CreateKey, CreateAlias), as the account root,
 * once: a key whose first alias already exists is left alone, so applying is idempotent.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { principalFromArn, rootArn } from '../auth/principal.js';
import { ConfigError } from '../config/config.js';
import type { RequestContext, Services } from '../kms/context.js';
import { OPERATIONS } from '../kms/registry.js';
import { KmsError } from '../errors/aws-errors.js';
import { parseInput } from '../protocol/validate/index.js';

interface SeedKey {
  aliases: string[];
  region?: string;
  description?: string;
  keySpec?: string;
  keyUsage?: string;
  policy?: unknown;
  tags?: Record<string, string>;
}

/** Create the seed file's keys that do not exist yet; returns how many were created. */
export async function applySeedKeys(
  path: string,
  services: Services,
  defaultRegion: string,
): Promise<number> {
  const raw = JSON.parse(readFileSync(resolve(path), 'utf8')) as {
    accounts?: Array<{ id: string; keys?: unknown[] }>;
  };
  let created = 0;
  for (const [i, account] of (raw.accounts ?? []).entries()) {
    for (const [j, entry] of (account.keys ?? []).entries()) {
      const where = `seed file ${path}: accounts[${i}].keys[${j}]`;
      const k = checkSeedKey(entry, where);
      const region = k.region ?? defaultRegion;
      const first = k.aliases[0] as string;
      if ((await services.storage.getAlias(region, account.id, first)) !== undefined) continue;
      const ctx = rootContext(services, account.id, region);
      try {
        const out = (await run(ctx, 'CreateKey', {
          Description: k.description,
          KeySpec: k.keySpec,
          KeyUsage: k.keyUsage,
          Policy:
            k.policy === undefined
              ? undefined
              : typeof k.policy === 'string'
                ? k.policy
                : JSON.stringify(k.policy),
          Tags: Object.entries(k.tags ?? {}).map(([TagKey, TagValue]) => ({ TagKey, TagValue })),
        })) as { KeyMetadata: { KeyId: string } };
        for (const alias of k.aliases)
          await run(ctx, 'CreateAlias', { AliasName: alias, TargetKeyId: out.KeyMetadata.KeyId });
      } catch (err) {
        if (err instanceof KmsError) throw new ConfigError(`${where}: ${err.code}: ${err.message}`);
        throw err;
      }
      created++;
    }
  }
  return created;
}

async function run(
  ctx: RequestContext,
  name: string,
  body: Record<string, unknown>,
): Promise<unknown> {
  const op = OPERATIONS.get(name);
  if (op === undefined) throw new Error(`no operation ${name}`);
  return op.handler(ctx, parseInput(name, JSON.parse(JSON.stringify(body)) as unknown));
}

function rootContext(services: Services, accountId: string, region: string): RequestContext {
  return {
    requestId: randomUUID(),
    region,
    principal: principalFromArn(rootArn(accountId), 'SEED'),
    sourceIp: '127.0.0.1',
    userAgent: 'keyhold-seed',
    now: services.clock.now(),
    services,
    keyArns: [],
    sensitive: [],
  };
}

function checkSeedKey(v: unknown, where: string): SeedKey {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new ConfigError(`${where}: must be an object`);
  const o = v as Record<string, unknown>;
  const allowed = ['aliases', 'region', 'description', 'keySpec', 'keyUsage', 'policy', 'tags'];
  for (const key of Object.keys(o))
    if (!allowed.includes(key)) throw new ConfigError(`${where}: unknown field '${key}'`);
  if (
    !Array.isArray(o.aliases) ||
    o.aliases.length === 0 ||
    !o.aliases.every((a) => typeof a === 'string')
  ) {
    throw new ConfigError(
      `${where}: 'aliases' must be a non-empty list of alias names (they make seeding idempotent)`,
    );
  }
  return o as unknown as SeedKey;
}
