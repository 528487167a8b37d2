/**
 * `keyhold authz explain`: the decision keyhold would make for a principal, an action and a
 * key, with the statements, grants and conditions that produced it. Reads the data dir.
 */
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { contextFromPairs, explainAuthorization } from '../kms/access/explain.js';
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
        const result = await explainAuthorization(storage, {
          principalArn: flags.principal,
          action: flags.action,
          key: flags.key,
          region: flags.region,
          encryptionContext: contextFromPairs(flags.context),
          sourceIp: flags.sourceIp,
          now: new Date(),
        });
        process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
        if (!result.allowed) process.exitCode = 1;
      } finally {
        await storage.close();
      }
    });
}
