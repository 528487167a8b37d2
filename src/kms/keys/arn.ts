/** ARNs and key identifiers: the four KeyId forms AWS accepts (API reference, KeyId parameter). */

export function keyArn(region: string, accountId: string, keyId: string): string {
  return `arn:aws:kms:${region}:${accountId}:key/${keyId}`;
}

export function aliasArn(region: string, accountId: string, aliasName: string): string {
  return `arn:aws:kms:${region}:${accountId}:${aliasName}`;
}

export type KeyIdentifier =
  | { kind: 'id'; keyId: string }
  | { kind: 'keyArn'; region: string; accountId: string; keyId: string }
  | { kind: 'alias'; aliasName: string }
  | { kind: 'aliasArn'; region: string; accountId: string; aliasName: string }
  | { kind: 'invalidArn' };

const ARN_RE = /^arn:aws:kms:([a-z0-9-]+):(\d{12}):(key\/.+|alias\/.+)$/;

export function parseKeyIdentifier(value: string): KeyIdentifier {
  if (value.startsWith('arn:')) {
    const m = ARN_RE.exec(value);
    if (m === null) return { kind: 'invalidArn' };
    const [, region, accountId, resource] = m as unknown as [string, string, string, string];
    if (resource.startsWith('key/'))
      return { kind: 'keyArn', region, accountId, keyId: resource.slice(4) };
    return { kind: 'aliasArn', region, accountId, aliasName: resource };
  }
  if (value.startsWith('alias/')) return { kind: 'alias', aliasName: value };
  return { kind: 'id', keyId: value };
}
