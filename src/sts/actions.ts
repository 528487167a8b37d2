/**
 * The STS actions keyhold serves at the KMS endpoint: AssumeRole and GetCallerIdentity,
 * answered as STS Query XML results. The protocol around them (form parameters, the
 * signing service `sts`, XML errors, audit) is the STS codec's (server/pipeline/sts.ts).
 * Shapes: STS API Reference (AssumeRole, GetCallerIdentity, Common Errors).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Principal } from '../auth/principal.js';
import { iamError, type IamError } from '../errors/iam-errors.js';
import { decideAssumeRole, principalContext } from '../iam/evaluate.js';
import type { Services } from '../kms/context.js';
import { isoSeconds, responseXml, type XmlNode } from './xml.js';

export const STS_VERSION = '2011-06-15';
const SESSION_NAME_RE = /^[\w+=,.@-]*$/;
/** Role chaining caps sessions at one hour (IAM User Guide, "Role chaining"). */
const CHAINED_MAX_SECONDS = 3600;
/** Expired sessions are kept this long so that their use answers ExpiredToken. */
const EXPIRED_RETENTION_MS = 24 * 3600 * 1000;

/** Parameters STS accepts but keyhold does not implement; refused rather than ignored. */
const UNSUPPORTED_PARAMS = [
  'Policy',
  'PolicyArns.member.1.arn',
  'Tags.member.1.Key',
  'TransitiveTagKeys.member.1',
  'SerialNumber',
  'TokenCode',
  'SourceIdentity',
  'ProvidedContexts.member.1.ProviderArn',
];

let lastSweep = 0;

/** GetCallerIdentity: who the caller is. */
export function getCallerIdentity(p: Principal, requestId: string): string {
  return responseXml(
    'GetCallerIdentity',
    { Arn: p.arn, UserId: p.userId, Account: p.accountId },
    requestId,
  );
}

/** What AssumeRole needs of the node. */
export type StsServices = Pick<Services, 'storage' | 'hsm'>;

/** AssumeRole: validates its parameters, decides on the trust policy, stores the session. */
export async function assumeRole(
  services: StsServices,
  caller: Principal,
  region: string,
  params: URLSearchParams,
  sourceIp: string,
  requestId: string,
  now: Date,
): Promise<string> {
  const roleArn = params.get('RoleArn');
  const sessionName = params.get('RoleSessionName');
  if (roleArn === null) throw notNull('roleArn');
  if (sessionName === null) throw notNull('roleSessionName');
  if (roleArn.length < 20 || roleArn.length > 2048)
    throw invalid(roleArn, 'roleArn', 'Member must have length between 20 and 2048');
  if (sessionName.length < 2)
    throw invalid(
      sessionName,
      'roleSessionName',
      'Member must have length greater than or equal to 2',
    );
  if (sessionName.length > 64)
    throw invalid(
      sessionName,
      'roleSessionName',
      'Member must have length less than or equal to 64',
    );
  if (!SESSION_NAME_RE.test(sessionName))
    throw invalid(
      sessionName,
      'roleSessionName',
      'Member must satisfy regular expression pattern: [\\w+=,.@-]*',
    );
  for (const p of UNSUPPORTED_PARAMS)
    if (params.has(p))
      throw iamError(
        'ValidationError',
        `${p.split('.')[0] ?? p} is not supported by keyhold's AssumeRole.`,
      );
  const durationRaw = params.get('DurationSeconds');
  let duration = 3600;
  if (durationRaw !== null) {
    duration = Number(durationRaw);
    if (!/^\d+$/.test(durationRaw) || duration < 900)
      throw invalid(
        durationRaw,
        'durationSeconds',
        'Member must have value greater than or equal to 900',
      );
    if (duration > 43200)
      throw invalid(
        durationRaw,
        'durationSeconds',
        'Member must have value less than or equal to 43200',
      );
  }
  const iam = services.storage.iam;
  const denied = iamError(
    'AccessDenied',
    `User: ${caller.arn} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`,
  );
  /* Precondition: the root user cannot assume roles (STS API Reference, AssumeRole). */
  if (caller.type === 'Root')
    throw iamError('AccessDenied', 'Roles may not be assumed by root accounts.');
  const role = await iam.getRole(roleArn);
  if (role === undefined) throw denied;
  const decision = decideAssumeRole({
    caller: { ...caller },
    roleArn: role.arn,
    roleAccountId: role.accountId,
    trustPolicy: role.trustPolicy,
    trustPolicyPrincipals: role.trustPolicyPrincipals,
    identityPolicies: await iam.getIdentityPolicies(caller),
    context: principalContext({ ...caller }, now, {
      'aws:SourceIp': sourceIp,
      'aws:RequestedRegion': region,
      'aws:SecureTransport': 'false',
      'sts:RoleSessionName': sessionName,
      'sts:ExternalId': params.get('ExternalId') ?? undefined,
    }),
  });
  if (!decision.allowed) throw denied;
  if (duration > role.maxSessionDuration)
    throw iamError(
      'ValidationError',
      `The requested DurationSeconds exceeds the MaxSessionDuration set for this role.`,
    );
  if (caller.type === 'AssumedRole' && durationRaw !== null && duration > CHAINED_MAX_SECONDS)
    throw iamError(
      'ValidationError',
      'The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.',
    );

  const accessKeyId = sessionKeyId();
  const secret = randomBytes(30).toString('base64').replace(/\+/g, 'A').replace(/\//g, 'B');
  const token = randomBytes(192).toString('base64');
  const expiration = new Date(Math.floor(now.getTime() / 1000) * 1000 + duration * 1000);
  const roleName = role.name;
  const assumedRoleArn = `arn:aws:sts::${role.accountId}:assumed-role/${roleName}/${sessionName}`;
  await iam.putSession({
    accessKeyId,
    accountId: role.accountId,
    sealedSecret: services.hsm.sealSecret(`access-key/${accessKeyId}`, Buffer.from(secret, 'utf8')),
    tokenHash: createHash('sha256').update(token, 'utf8').digest(),
    roleArn: role.arn,
    roleId: role.roleId,
    sessionName,
    assumedRoleArn,
    expiration,
    createdAt: now,
  });
  if (now.getTime() - lastSweep > 3600_000) {
    lastSweep = now.getTime();
    await iam.deleteExpiredSessions(new Date(now.getTime() - EXPIRED_RETENTION_MS));
  }
  const result: XmlNode = {
    AssumedRoleUser: { AssumedRoleId: `${role.roleId}:${sessionName}`, Arn: assumedRoleArn },
    Credentials: {
      AccessKeyId: accessKeyId,
      SecretAccessKey: secret,
      SessionToken: token,
      Expiration: isoSeconds(expiration),
    },
  };
  return responseXml('AssumeRole', result, requestId);
}

/** ASIA + 16 base32 characters. */
function sessionKeyId(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  return `ASIA${[...randomBytes(16)].map((b) => alphabet[b % 32]).join('')}`;
}

function notNull(member: string): IamError {
  return iamError(
    'ValidationError',
    `1 validation error detected: Value null at '${member}' failed to satisfy constraint: Member must not be null`,
  );
}

function invalid(value: string, member: string, constraint: string): IamError {
  return iamError(
    'ValidationError',
    `1 validation error detected: Value '${value}' at '${member}' failed to satisfy constraint: ${constraint}`,
  );
}
