/**
 * Terraform against keyhold: the CLI at /usr/local/bin/terraform with the hashicorp/aws
 * provider from the filesystem mirror /opt/tf-plugins (no network), run in a temp working
 * directory with its own CLI config and data dir, and a clean environment (no AWS_* of the
 * machine leaks in). Used by test/integration/terraform.test.ts.
 */
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const TERRAFORM = process.env.KEYHOLD_TERRAFORM ?? '/usr/local/bin/terraform';
export const PLUGIN_MIRROR = process.env.KEYHOLD_TERRAFORM_MIRROR ?? '/opt/tf-plugins';
export const AWS_PROVIDER_VERSION = '5.100.0';

/** Why Terraform cannot run here, or undefined when it can. */
export function terraformMissing(): string | undefined {
  const provider = join(
    PLUGIN_MIRROR,
    'registry.terraform.io/hashicorp/aws',
    AWS_PROVIDER_VERSION,
    'linux_amd64',
  );
  if (!existsSync(TERRAFORM))
    return `${TERRAFORM} is missing: the Terraform scenario needs the terraform CLI there (or KEYHOLD_TERRAFORM).`;
  if (!existsSync(provider))
    return `${provider} is missing: the Terraform scenario needs hashicorp/aws ${AWS_PROVIDER_VERSION} in the filesystem mirror ${PLUGIN_MIRROR} (or KEYHOLD_TERRAFORM_MIRROR).`;
  return undefined;
}

export interface TfResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface TfRunner {
  dir: string;
  /** Run terraform with the given arguments; never throws on a non-zero exit. */
  run(args: string[]): Promise<TfResult>;
  /** Run and require exit code `expect` (0 by default); the message carries the output. */
  ok(args: string[], expect?: number): Promise<TfResult>;
}

/**
 * A Terraform working dir in `dir` with the CLI config that installs providers from the
 * mirror only. `spawn`, not spawnSync: the keyhold under test serves from this process.
 */
export function terraformIn(
  dir: string,
  creds: { accessKeyId: string; secretAccessKey: string },
): TfRunner {
  const cliConfig = join(dir, 'cli.tfrc');
  writeFileSync(
    cliConfig,
    `provider_installation {
  filesystem_mirror {
    path    = "${PLUGIN_MIRROR}"
    include = ["registry.terraform.io/hashicorp/*"]
  }
  direct {
    exclude = ["registry.terraform.io/*/*"]
  }
}
`,
  );
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: dir,
    TF_CLI_CONFIG_FILE: cliConfig,
    TF_DATA_DIR: join(dir, '.terraform'),
    TF_IN_AUTOMATION: '1',
    CHECKPOINT_DISABLE: '1',
    AWS_ACCESS_KEY_ID: creds.accessKeyId,
    AWS_SECRET_ACCESS_KEY: creds.secretAccessKey,
    AWS_CONFIG_FILE: join(dir, 'no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(dir, 'no-aws-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
  };
  const run = (args: string[]): Promise<TfResult> =>
    new Promise((resolve, reject) => {
      const started = Date.now();
      const child = spawn(TERRAFORM, [...args], {
        cwd: dir,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (b: Buffer) => out.push(b));
      child.stderr.on('data', (b: Buffer) => err.push(b));
      child.on('error', reject);
      child.on('close', (code) =>
        resolve({
          code: code ?? -1,
          stdout: Buffer.concat(out).toString(),
          stderr: Buffer.concat(err).toString(),
          ms: Date.now() - started,
        }),
      );
    });
  return {
    dir,
    run,
    async ok(args, expect = 0) {
      const r = await run(args);
      if (r.code !== expect)
        throw new Error(
          `terraform ${args.join(' ')} exited ${r.code}, expected ${expect}\n${r.stdout}\n${r.stderr}`,
        );
      return r;
    },
  };
}

/**
 * The scenario's configuration: every KMS resource of the provider that keyhold serves.
 * `stage` is the variable the "change" step moves (description, tag, rotation period).
 */
export function kmsScenarioConfig(endpoint: string, externalKeyMaterialB64: string): string {
  return `terraform {
  required_providers {
    aws = { source = "hashicorp/aws", version = "${AWS_PROVIDER_VERSION}" }
  }
}

variable "stage" { type = string }

locals {
  endpoints = { kms = "${endpoint}", sts = "${endpoint}" }
}

provider "aws" {
  region                  = "us-east-1"
  skip_metadata_api_check = true
  endpoints {
    kms = local.endpoints.kms
    sts = local.endpoints.sts
  }
}

provider "aws" {
  alias                   = "west"
  region                  = "us-west-2"
  skip_metadata_api_check = true
  endpoints {
    kms = local.endpoints.kms
    sts = local.endpoints.sts
  }
}

data "aws_caller_identity" "me" {}

resource "aws_kms_key" "sym" {
  description             = "sym \${var.stage}"
  enable_key_rotation     = true
  rotation_period_in_days = var.stage == "one" ? 180 : 90
  deletion_window_in_days = 7
  policy = jsonencode({
    Version = "2012-10-17"
    Id      = "tf-sym"
    Statement = [{
      Sid       = "root"
      Effect    = "Allow"
      Principal = { AWS = "arn:aws:iam::\${data.aws_caller_identity.me.account_id}:root" }
      Action    = "kms:*"
      Resource  = "*"
    }]
  })
  tags = { env = "test", stage = var.stage }
}

resource "aws_kms_alias" "sym" {
  name          = "alias/tf-sym"
  target_key_id = aws_kms_key.sym.key_id
}

resource "aws_kms_key" "rsa" {
  description              = "rsa"
  customer_master_key_spec = "RSA_2048"
  key_usage                = "SIGN_VERIFY"
  deletion_window_in_days  = 7
}

resource "aws_kms_key" "hmac" {
  description              = "hmac"
  customer_master_key_spec = "HMAC_256"
  key_usage                = "GENERATE_VERIFY_MAC"
  deletion_window_in_days  = 7
}

resource "aws_kms_grant" "g" {
  name              = "tf-grant"
  key_id            = aws_kms_key.sym.key_id
  grantee_principal = "arn:aws:iam::\${data.aws_caller_identity.me.account_id}:root"
  operations        = ["Encrypt", "Decrypt", "GenerateDataKey"]
  constraints {
    encryption_context_equals = { dept = "eng" }
  }
}

resource "aws_kms_ciphertext" "c" {
  key_id    = aws_kms_key.sym.key_id
  plaintext = "hello terraform"
  context   = { dept = "eng" }
}

data "aws_kms_secrets" "s" {
  secret {
    name    = "greeting"
    payload = aws_kms_ciphertext.c.ciphertext_blob
    context = { dept = "eng" }
  }
}

resource "aws_kms_key" "pol" {
  description             = "policy set apart"
  deletion_window_in_days = 7
}

resource "aws_kms_key_policy" "pol" {
  key_id = aws_kms_key.pol.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "separate"
      Effect    = "Allow"
      Principal = { AWS = "arn:aws:iam::\${data.aws_caller_identity.me.account_id}:root" }
      Action    = "kms:*"
      Resource  = "*"
    }]
  })
}

resource "aws_kms_key" "mrk" {
  description             = "mrk primary"
  multi_region            = true
  deletion_window_in_days = 7
}

resource "aws_kms_replica_key" "mrk" {
  provider                = aws.west
  description             = "replica \${var.stage}"
  primary_key_arn         = aws_kms_key.mrk.arn
  deletion_window_in_days = 7
  tags                    = { site = "west" }
}

resource "aws_kms_external_key" "ext" {
  description             = "external"
  enabled                 = true
  key_material_base64     = "${externalKeyMaterialB64}"
  deletion_window_in_days = 7
}

output "ids" {
  value = {
    sym  = aws_kms_key.sym.key_id
    rsa  = aws_kms_key.rsa.key_id
    hmac = aws_kms_key.hmac.key_id
    pol  = aws_kms_key.pol.key_id
    mrk  = aws_kms_key.mrk.key_id
    ext  = aws_kms_external_key.ext.id
  }
}

output "ciphertext" {
  value = aws_kms_ciphertext.c.ciphertext_blob
}

output "secret" {
  value     = data.aws_kms_secrets.s.plaintext["greeting"]
  sensitive = true
}
`;
}
