/**
 * ReplicateKey: a replica of a multi-Region primary key in another Region this keyhold
 * serves, with the same key id, spec, usage, origin and key material (every version,
 * re-sealed for the replica's ARN inside the HSM), and its own policy, description and tags.
 *
 * As in AWS the replica is answered in state Creating: it is written Creating with its
 * material and membership, and kms/jobs/replica-creation.ts makes it Enabled a short while later
 * (KEYHOLD_REPLICA_CREATION_MS); callers wait with DescribeKey. A replica of a primary with
 * imported material (origin EXTERNAL) has no material and turns PendingImport instead.
 */
import type { ReplicateKeyRequest, ReplicateKeyResponse } from '@aws-sdk/client-kms';
import { kmsError } from '../../errors/aws-errors.js';
import { DuplicateKeyError, type KeyRecord } from '../../storage/repository.js';
import { authorizeAccount } from '../access/authorize.js';
import { keyArn } from '../keys/arn.js';
import {
  checkLockoutSafety,
  checkPolicyDocument,
  checkPrincipalsExist,
  defaultKeyPolicy,
} from '../access/key-policy.js';
import { describeKeyMetadata, rebindVersion, requirePrimary } from '../keys/multi-region.js';
import { operation } from '../operation.js';
import { checkTagLimit, normalizeTags, requestTagConditions } from '../keys/tags.js';
import { useKey } from '../keys/use-key.js';

export default operation<ReplicateKeyRequest, ReplicateKeyResponse>({
  name: 'ReplicateKey',
  action: 'kms:ReplicateKey',
  readOnly: false,
  async handler(ctx, input) {
    const region = input.ReplicaRegion as string;
    const primary = await useKey(ctx, input.KeyId as string, {
      operation: 'ReplicateKey',
      action: 'kms:ReplicateKey',
      aliases: false,
      authz: { conditions: { 'kms:ReplicaRegion': region } },
    });
    const { storage, hsm } = ctx.services;
    await requirePrimary(storage, primary);
    /* Precondition: the replica Region differs from the primary's (model doc, ReplicaRegion). */
    if (region === primary.region) {
      throw kmsError(
        'ValidationException',
        `The replica Region ${region} must be different from the primary key's Region.`,
      );
    }
    /* Precondition: keyhold serves the Region ("KMS must be available in the replica Region"). */
    if (!(ctx.services.regions ?? [ctx.region]).includes(region)) {
      throw kmsError(
        'UnsupportedOperationException',
        `Region ${region} is not served by this keyhold deployment (KEYHOLD_REGION, KEYHOLD_REGIONS).`,
      );
    }
    const arn = keyArn(region, primary.accountId, primary.keyId);
    if ((await storage.getKey(region, primary.keyId)) !== undefined) {
      throw kmsError('AlreadyExistsException', `Replica key ${arn} already exists.`);
    }
    // In the replica Region: kms:CreateKey (and kms:TagResource for Tags) in IAM policies.
    const replicaCtx = { ...ctx, region };
    const tags = normalizeTags(input.Tags);
    checkTagLimit(tags.length);
    await authorizeAccount(replicaCtx, 'kms:CreateKey', {
      conditions: { 'kms:MultiRegionKeyType': 'REPLICA', 'kms:KeySpec': primary.keySpec },
    });
    if (tags.length > 0)
      await authorizeAccount(replicaCtx, 'kms:TagResource', {
        conditions: requestTagConditions(tags),
      });
    const policy = input.Policy ?? defaultKeyPolicy(primary.accountId);
    checkPolicyDocument(policy);

    const material = primary.origin !== 'EXTERNAL';
    const replica: KeyRecord = {
      region,
      keyId: primary.keyId,
      accountId: primary.accountId,
      arn,
      description: input.Description ?? '',
      keyState: 'Creating',
      keySpec: primary.keySpec,
      keyUsage: primary.keyUsage,
      origin: primary.origin,
      keyManager: primary.keyManager,
      multiRegion: true,
      policy,
      creationDate: ctx.now,
      currentVersionId: material ? primary.currentVersionId : undefined,
      revision: 0,
    };
    if (input.Policy !== undefined) {
      replica.policyPrincipals = await checkPrincipalsExist(ctx, policy);
      await checkLockoutSafety(
        replicaCtx,
        replica,
        policy,
        input.BypassPolicyLockoutSafetyCheck === true,
      );
    }
    const versions = material
      ? (await storage.listKeyVersions(primary.region, primary.keyId)).map((v) =>
          rebindVersion(hsm, primary, v, replica, v.createdAt),
        )
      : [];
    const [first, ...rest] = versions;
    await storage.createKey(replica, first, tags);
    for (const v of rest) await storage.addKeyVersion(v);
    try {
      await storage.multiRegion.addMember({
        accountId: replica.accountId,
        keyId: replica.keyId,
        region,
        role: 'REPLICA',
      });
    } catch (err) {
      if (err instanceof DuplicateKeyError)
        throw kmsError('AlreadyExistsException', `Replica key ${arn} already exists.`);
      throw err;
    }
    ctx.services.replicas?.schedule(region, replica.keyId);
    ctx.keyArns.push(arn);
    const out: ReplicateKeyResponse = {
      ReplicaKeyMetadata: await describeKeyMetadata(storage, replica),
      ReplicaPolicy: policy,
    };
    // AWS sends ReplicaTags only for a replica with tags.
    if (tags.length > 0)
      out.ReplicaTags = tags.map((t) => ({ TagKey: t.tagKey, TagValue: t.tagValue }));
    return out;
  },
});
