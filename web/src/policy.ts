/**
 * Key policies in the console: the AWS console's default policy for a new key, JSON
 * validation with a position, and a line diff to show before PutKeyPolicy.
 */

/**
 * The key administrators' actions (AWS KMS Developer Guide, "Default key policy"; the
 * current console appends kms:RotateKeyOnDemand after the deletion actions).
 */
const ADMIN_ACTIONS = [
  'kms:Create*',
  'kms:Describe*',
  'kms:Enable*',
  'kms:List*',
  'kms:Put*',
  'kms:Update*',
  'kms:Revoke*',
  'kms:Disable*',
  'kms:Get*',
  'kms:Delete*',
  'kms:TagResource',
  'kms:UntagResource',
];
/** Only when "Allow key administrators to delete this key" is ticked. */
const ADMIN_DELETE_ACTIONS = ['kms:ScheduleKeyDeletion', 'kms:CancelKeyDeletion'];

/** The key users' actions by key usage (the console's "Allow use of the key"). */
export function userActions(keySpec: string, keyUsage: string): string[] {
  if (keyUsage === 'SIGN_VERIFY')
    return ['kms:DescribeKey', 'kms:GetPublicKey', 'kms:Sign', 'kms:Verify'];
  if (keyUsage === 'GENERATE_VERIFY_MAC')
    return ['kms:DescribeKey', 'kms:GenerateMac', 'kms:VerifyMac'];
  if (keyUsage === 'KEY_AGREEMENT')
    return ['kms:DescribeKey', 'kms:GetPublicKey', 'kms:DeriveSharedSecret'];
  if (keySpec !== 'SYMMETRIC_DEFAULT')
    return ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:DescribeKey', 'kms:GetPublicKey'];
  return [
    'kms:Encrypt',
    'kms:Decrypt',
    'kms:ReEncrypt*',
    'kms:GenerateDataKey*',
    'kms:DescribeKey',
  ];
}

export interface DefaultPolicyInput {
  account: string;
  admins: string[];
  users: string[];
  allowAdminsToDelete: boolean;
  keySpec: string;
  keyUsage: string;
}

const principal = (arns: string[]) => ({ AWS: arns.length === 1 ? arns[0] : arns });

/**
 * The policy the AWS console writes for a key created with its wizard: the account root
 * statement, then key administrators, key users, and (symmetric encryption keys only) the
 * grant statement for AWS services. Statements with nobody in them are left out.
 */
export function defaultKeyPolicy(p: DefaultPolicyInput): Record<string, unknown> {
  const statements: Record<string, unknown>[] = [
    {
      Sid: 'Enable IAM User Permissions',
      Effect: 'Allow',
      Principal: { AWS: `arn:aws:iam::${p.account}:root` },
      Action: 'kms:*',
      Resource: '*',
    },
  ];
  if (p.admins.length > 0)
    statements.push({
      Sid: 'Allow access for Key Administrators',
      Effect: 'Allow',
      Principal: principal(p.admins),
      Action: [
        ...ADMIN_ACTIONS,
        ...(p.allowAdminsToDelete ? ADMIN_DELETE_ACTIONS : []),
        'kms:RotateKeyOnDemand',
      ],
      Resource: '*',
    });
  if (p.users.length > 0) {
    statements.push({
      Sid: 'Allow use of the key',
      Effect: 'Allow',
      Principal: principal(p.users),
      Action: userActions(p.keySpec, p.keyUsage),
      Resource: '*',
    });
    if (p.keySpec === 'SYMMETRIC_DEFAULT' && p.keyUsage === 'ENCRYPT_DECRYPT')
      statements.push({
        Sid: 'Allow attachment of persistent resources',
        Effect: 'Allow',
        Principal: principal(p.users),
        Action: ['kms:CreateGrant', 'kms:ListGrants', 'kms:RevokeGrant'],
        Resource: '*',
        Condition: { Bool: { 'kms:GrantIsForAWSResource': 'true' } },
      });
  }
  return { Id: 'key-consolepolicy-3', Version: '2012-10-17', Statement: statements };
}

export type JsonCheck = { ok: true; value: unknown } | { ok: false; message: string };

/** Parse a policy text; the message names the line and column of a syntax error. */
export function checkPolicyJson(text: string): JsonCheck {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const m = /position (\d+)/.exec(msg);
    if (m !== null) {
      const pos = Number(m[1]);
      const before = text.slice(0, pos).split('\n');
      return {
        ok: false,
        message: `Not valid JSON at line ${before.length}, column ${(before.at(-1)?.length ?? 0) + 1}: ${msg}`,
      };
    }
    return { ok: false, message: `Not valid JSON: ${msg}` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return { ok: false, message: 'A key policy is a JSON object.' };
  const st = (value as { Statement?: unknown }).Statement;
  if (st === undefined) return { ok: false, message: 'A key policy needs a "Statement".' };
  if (text.length > 32768) return { ok: false, message: 'A key policy is at most 32 KB.' };
  return { ok: true, value };
}

/** Pretty-print a policy the same way on both sides of a diff. */
export function pretty(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

export type DiffLine = { op: ' ' | '+' | '-'; text: string };

/** Line diff by longest common subsequence (policies are small). */
export function diffLines(a: string, b: string): DiffLine[] {
  const x = a.split('\n');
  const y = b.split('\n');
  const n = x.length;
  const m = y.length;
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--)
      (lcs[i] as number[])[j] =
        x[i] === y[j]
          ? ((lcs[i + 1] as number[])[j + 1] as number) + 1
          : Math.max((lcs[i + 1] as number[])[j] as number, (lcs[i] as number[])[j + 1] as number);
  const out: DiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (x[i] === y[j]) {
      out.push({ op: ' ', text: x[i] as string });
      i++;
      j++;
    } else if (((lcs[i + 1] as number[])[j] as number) >= ((lcs[i] as number[])[j + 1] as number)) {
      out.push({ op: '-', text: x[i++] as string });
    } else {
      out.push({ op: '+', text: y[j++] as string });
    }
  }
  while (i < n) out.push({ op: '-', text: x[i++] as string });
  while (j < m) out.push({ op: '+', text: y[j++] as string });
  return out;
}
