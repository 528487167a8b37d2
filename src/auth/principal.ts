/** Who made a request, after SigV4 verification. */
export interface Principal {
  accountId: string;
  /** arn:aws:iam::<acct>:root, arn:aws:iam::<acct>:user/<name>, or an assumed-role ARN. */
  arn: string;
  type: 'Root' | 'IAMUser' | 'AssumedRole';
  accessKeyId: string;
  /**
   * aws:userid: the account id for root, the user's unique id (AIDA…) for users, and
   * `<role unique id>:<session name>` for assumed-role sessions.
   */
  userId: string;
  /** For an assumed-role session: the role's ARN, `arn:aws:iam::<acct>:role/<path><name>`. */
  roleArn?: string | undefined;
}

export function principalFromArn(arn: string, accessKeyId: string, userId?: string): Principal {
  const m = /^arn:aws:(iam|sts)::(\d{12}):(.+)$/.exec(arn);
  if (m === null) throw new Error(`not a principal ARN: ${arn}`);
  const accountId = m[2] as string;
  const resource = m[3] as string;
  if (resource === 'root') return { accountId, arn, type: 'Root', accessKeyId, userId: accountId };
  if (resource.startsWith('assumed-role/')) {
    // The role ARN loses the role's path; sessions carry the full role ARN in roleArn instead.
    const roleName = resource.split('/')[1] ?? '';
    return {
      accountId,
      arn,
      type: 'AssumedRole',
      accessKeyId,
      userId: userId ?? accessKeyId,
      roleArn: `arn:aws:iam::${accountId}:role/${roleName}`,
    };
  }
  return { accountId, arn, type: 'IAMUser', accessKeyId, userId: userId ?? accessKeyId };
}

export function rootArn(accountId: string): string {
  return `arn:aws:iam::${accountId}:root`;
}
