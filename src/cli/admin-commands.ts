/**
 * `keyhold admin …`: identity management against a running keyhold, as SigV4-signed calls
 * to its admin API (`X-Amz-Target: KeyholdAdmin.<Op>`, AWS JSON 1.1, service `kms`).
 * Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN);
 * the server allows only the target account's root.
 */
import { readFileSync } from 'node:fs';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { Command } from 'commander';

interface GlobalFlags {
  endpointUrl?: string;
  region?: string;
}

/** Call one admin operation; returns the parsed JSON answer or throws AdminCallError. */
export async function callAdmin(
  operation: string,
  input: Record<string, unknown>,
  opts: {
    endpointUrl: string;
    region: string;
    credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  },
): Promise<Record<string, unknown>> {
  const url = new URL(opts.endpointUrl);
  const body = JSON.stringify(input);
  const request = new HttpRequest({
    method: 'POST',
    protocol: url.protocol,
    hostname: url.hostname,
    ...(url.port !== '' ? { port: Number(url.port) } : {}),
    path: '/',
    headers: {
      host: url.host,
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': `KeyholdAdmin.${operation}`,
    },
    body,
  });
  const signer = new SignatureV4({
    credentials: opts.credentials,
    region: opts.region,
    service: 'kms',
    sha256: Hash.bind(null, 'sha256'),
  });
  const signed = await signer.sign(request);
  let res: Response;
  try {
    res = await fetch(new URL('/', url), { method: 'POST', headers: signed.headers, body });
  } catch (err) {
    // fetch says only "fetch failed"; name the endpoint and how to choose another.
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new AdminCallError(
      'EndpointUnreachable',
      `cannot reach keyhold at ${url.href} (${cause?.code ?? cause?.message ?? String(err)}); ` +
        'is it running? Choose the endpoint with --endpoint-url or KEYHOLD_ENDPOINT_URL',
    );
  }
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
  } catch {
    throw new AdminCallError('InvalidResponse', `unexpected answer (${res.status}): ${text}`);
  }
  if (!res.ok)
    throw new AdminCallError(String(json.__type ?? res.status), String(json.message ?? text));
  return json;
}

export class AdminCallError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'AdminCallError';
  }
}

export function registerAdminCommands(program: Command): void {
  const admin = program
    .command('admin')
    .description(
      'manage accounts\u2019 IAM users, roles, access keys and policies on a running keyhold ' +
        '(credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY of the account root)',
    )
    .option(
      '--endpoint-url <url>',
      'keyhold endpoint (env KEYHOLD_ENDPOINT_URL, default http://127.0.0.1:8420)',
    )
    .option('--region <region>', 'signing Region (env AWS_REGION, default us-east-1)');

  const action =
    <T>(op: string, build: (flags: T) => Record<string, unknown>) =>
    async (flags: T) => {
      const g = admin.opts<GlobalFlags>();
      const env = process.env;
      const accessKeyId = env.AWS_ACCESS_KEY_ID;
      const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
      if (accessKeyId === undefined || secretAccessKey === undefined) {
        process.stderr.write('keyhold: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY\n');
        process.exitCode = 1;
        return;
      }
      try {
        const out = await callAdmin(op, build(flags), {
          endpointUrl:
            g.endpointUrl ??
            env.KEYHOLD_ENDPOINT_URL ??
            env.AWS_ENDPOINT_URL ??
            'http://127.0.0.1:8420',
          region: g.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
          credentials: {
            accessKeyId,
            secretAccessKey,
            ...(env.AWS_SESSION_TOKEN !== undefined && env.AWS_SESSION_TOKEN !== ''
              ? { sessionToken: env.AWS_SESSION_TOKEN }
              : {}),
          },
        });
        process.stdout.write(JSON.stringify(out, null, 2) + '\n');
      } catch (err) {
        const e = err as Error & { code?: string };
        process.stderr.write(`keyhold: ${e.code ?? e.name}: ${e.message}\n`);
        process.exitCode = 254;
      }
    };

  const file = (path: string): string => readFileSync(path, 'utf8');

  admin
    .command('create-user')
    .description('create an IAM user')
    .requiredOption('--account <id>', 'account id')
    .requiredOption('--name <name>', 'user name')
    .option('--path <path>', 'IAM path, e.g. /dev/')
    .action(
      action('CreateUser', (f: { account: string; name: string; path?: string }) => ({
        AccountId: f.account,
        UserName: f.name,
        ...(f.path !== undefined ? { Path: f.path } : {}),
      })),
    );
  admin
    .command('delete-user')
    .description('delete an IAM user with its access keys and inline policies')
    .requiredOption('--user-arn <arn>', 'user ARN')
    .action(action('DeleteUser', (f: { userArn: string }) => ({ UserArn: f.userArn })));
  admin
    .command('list-users')
    .description('list the IAM users of an account')
    .option('--account <id>', 'account id (default: the caller\u2019s)')
    .action(
      action('ListUsers', (f: { account?: string }) =>
        f.account !== undefined ? { AccountId: f.account } : {},
      ),
    );
  admin
    .command('create-access-key')
    .description('create an access key for a user; the secret is printed only this once')
    .requiredOption('--user-arn <arn>', 'user ARN')
    .action(action('CreateAccessKey', (f: { userArn: string }) => ({ UserArn: f.userArn })));
  admin
    .command('list-access-keys')
    .description('list a user\u2019s access keys')
    .requiredOption('--user-arn <arn>', 'user ARN')
    .action(action('ListAccessKeys', (f: { userArn: string }) => ({ UserArn: f.userArn })));
  admin
    .command('delete-access-key')
    .description('delete a user\u2019s access key')
    .requiredOption('--user-arn <arn>', 'user ARN')
    .requiredOption('--access-key-id <id>', 'access key id')
    .action(
      action('DeleteAccessKey', (f: { userArn: string; accessKeyId: string }) => ({
        UserArn: f.userArn,
        AccessKeyId: f.accessKeyId,
      })),
    );
  admin
    .command('put-user-policy')
    .description('attach (or replace) an inline identity policy of a user')
    .requiredOption('--user-arn <arn>', 'user ARN')
    .requiredOption('--policy-name <name>', 'policy name')
    .requiredOption('--policy-file <file>', 'policy document (JSON)')
    .action(
      action('PutUserPolicy', (f: { userArn: string; policyName: string; policyFile: string }) => ({
        UserArn: f.userArn,
        PolicyName: f.policyName,
        PolicyDocument: file(f.policyFile),
      })),
    );
  admin
    .command('create-role')
    .description('create an IAM role with a trust policy')
    .requiredOption('--account <id>', 'account id')
    .requiredOption('--name <name>', 'role name')
    .requiredOption('--trust-policy-file <file>', 'trust policy (JSON)')
    .option('--path <path>', 'IAM path')
    .option('--max-session-duration <seconds>', 'maximum session duration (3600-43200)', Number)
    .option('--description <text>', 'description')
    .action(
      action(
        'CreateRole',
        (f: {
          account: string;
          name: string;
          trustPolicyFile: string;
          path?: string;
          maxSessionDuration?: number;
          description?: string;
        }) => ({
          AccountId: f.account,
          RoleName: f.name,
          AssumeRolePolicyDocument: file(f.trustPolicyFile),
          ...(f.path !== undefined ? { Path: f.path } : {}),
          ...(f.maxSessionDuration !== undefined
            ? { MaxSessionDuration: f.maxSessionDuration }
            : {}),
          ...(f.description !== undefined ? { Description: f.description } : {}),
        }),
      ),
    );
  admin
    .command('update-assume-role-policy')
    .description('replace a role\u2019s trust policy')
    .requiredOption('--role-arn <arn>', 'role ARN')
    .requiredOption('--policy-file <file>', 'trust policy (JSON)')
    .action(
      action('UpdateAssumeRolePolicy', (f: { roleArn: string; policyFile: string }) => ({
        RoleArn: f.roleArn,
        PolicyDocument: file(f.policyFile),
      })),
    );
  admin
    .command('put-role-policy')
    .description('attach (or replace) an inline identity policy of a role')
    .requiredOption('--role-arn <arn>', 'role ARN')
    .requiredOption('--policy-name <name>', 'policy name')
    .requiredOption('--policy-file <file>', 'policy document (JSON)')
    .action(
      action('PutRolePolicy', (f: { roleArn: string; policyName: string; policyFile: string }) => ({
        RoleArn: f.roleArn,
        PolicyName: f.policyName,
        PolicyDocument: file(f.policyFile),
      })),
    );
  admin
    .command('list-roles')
    .description('list the IAM roles of an account')
    .option('--account <id>', 'account id (default: the caller\u2019s)')
    .action(
      action('ListRoles', (f: { account?: string }) =>
        f.account !== undefined ? { AccountId: f.account } : {},
      ),
    );
  admin
    .command('delete-role')
    .description('delete a role with its inline policies and sessions')
    .requiredOption('--role-arn <arn>', 'role ARN')
    .action(action('DeleteRole', (f: { roleArn: string }) => ({ RoleArn: f.roleArn })));
}
