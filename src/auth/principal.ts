/** Who made a request, after SigV4 verification. */
export interface Principal {
  accountId: string;
  /** arn:aws:iam::<acct>:root, arn:aws:iam::<acct>:user/<name>, or an assumed-role ARN. */
  arn: string;
  type: 'Root' | 'IAMUser' | 'AssumedRole';
  accessKeyId: string;
  /** aws:userid: the account id for root, the unique id for users and roles. */
  userId: string;
}

export function principalFromArn(arn: string, accessKeyId: string): Principal {
  const m = /^arn:aws:(iam|sts)::(\d{12}):(.+)$/.exec(arn);
  if (m === null) throw new Error(`not a principal ARN: ${arn}`);
  const accountId = m[2] as string;
  const resource = m[3] as string;
  if (resource === 'root') return { accountId, arn, type: 'Root', accessKeyId, userId: accountId };
  if (resource.startsWith('assumed-role/'))
    return { accountId, arn, type: 'AssumedRole', accessKeyId, userId: accessKeyId };
  return { accountId, arn, type: 'IAMUser', accessKeyId, userId: accessKeyId };
}

export function rootArn(accountId: string): string {
  return `arn:aws:iam::${accountId}:root`;
}
