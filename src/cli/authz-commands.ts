/**
 * `keyhold authz explain`: the decision keyhold would make for a principal, an action and a
 * key, with the statements, grants and conditions that produced it. Reads the data dir.
 */
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { principalFromArn } from '../auth/principal.js';
import { explainKey } from '../kms/authorize.js';
import { parseKeyIdentifier } from '../kms/arn.js';
import { SqliteStorage } from '../storage/sqlite/sqlite-storage.js';

interface ExplainFlags {
  principal: string;
  action: string;
  key: string;
  region: string;
  context: string[];
  sourceIp: string;
  dataDir: string;
}

export function registerAuthzCommands(program: Command): void {
  const authz = program.command('authz').description('authorization tools');
  authz
    .command('explain')
    .description('print the decision for a principal, action and key, and why')
    .requiredOption('--principal <arn>', 'principal ARN (root, user, or assumed-role session)')
    .requiredOption('--action <action>', 'IAM action, e.g. kms:Decrypt')
    .requiredOption('--key <id>', 'key id or key ARN')
    .option('--region <region>', 'Region', process.env.KEYHOLD_REGION ?? 'us-east-1')
    .option(
      '--context <k=v>',
      'encryption context pair (repeatable)',
      (v: string, all: string[]) => [...all, v],
      [],
    )
    .option('--source-ip <ip>', 'aws:SourceIp', '127.0.0.1')
    .option('--data-dir <dir>', 'data directory', process.env.KEYHOLD_DATA_DIR ?? './.keyhold')
    .action(async (flags: ExplainFlags) => {
      const storage = new SqliteStorage(join(resolve(flags.dataDir), 'keyhold.db'));
      try {
        const id = parseKeyIdentifier(flags.key);
        const keyId = id.kind === 'id' || id.kind === 'keyArn' ? id.keyId : undefined;
        const key = keyId === undefined ? undefined : await storage.getKey(flags.region, keyId);
        if (key === undefined) throw new Error(`no key ${flags.key} in ${flags.region}`);
        const encryptionContext = Object.fromEntries(
          flags.context.map((pair) => {
            const i = pair.indexOf('=');
            return i < 0 ? [pair, ''] : [pair.slice(0, i), pair.slice(i + 1)];
          }),
        );
        const ctx = {
          principal: principalFromArn(flags.principal, 'EXPLAIN'),
          now: new Date(),
          sourceIp: flags.sourceIp,
          region: flags.region,
          services: { storage },
        };
        const { decision } = await explainKey(ctx, key, flags.action, {
          encryptionContext: flags.context.length > 0 ? encryptionContext : undefined,
        });
        process.stdout.write(
          `${JSON.stringify({ key: key.arn, principal: flags.principal, action: flags.action, ...decision }, null, 2)}\n`,
        );
        if (!decision.allowed) process.exitCode = 1;
      } finally {
        await storage.close();
      }
    });
}
