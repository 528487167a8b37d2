import { randomBytes, randomUUID } from 'node:crypto';
import type { CreateKeyRequest, CreateKeyResponse } from '@aws-sdk/client-kms';
import { authorizeAccount } from '../access/authorize.js';
import { kmsError } from '../../errors/aws-errors.js';
import type { KeyRecord } from '../../storage/repository.js';
import { keyArn } from '../keys/arn.js';
import { describeKeyMetadata, newMultiRegionKeyId } from '../keys/multi-region.js';
import {
  checkLockoutSafety,
  checkPolicyDocument,
  checkPrincipalsExist,
  defaultKeyPolicy,
} from '../access/key-policy.js';
import { allowsUsage, DEFAULT_KEY_USAGE, keySpecInfo } from '../keys/key-specs.js';
import { operation } from '../operation.js';
import { checkTagLimit, normalizeTags } from '../keys/tags.js';
import { createCustomStoreKey } from '../custom-stores/keys-in-custom-stores.js';

export default operation<CreateKeyRequest, CreateKeyResponse>({
  name: 'CreateKey',
  action: 'kms:CreateKey',
  readOnly: false,
  async handler(ctx, input) {
    await authorizeAccount(ctx, 'kms:CreateKey');
    /* Precondition: KeySpec and its deprecated twin CustomerMasterKeySpec are not both given. */
    if (input.KeySpec !== undefined && input.CustomerMasterKeySpec !== undefined) {
      throw kmsError(
        'ValidationException',
        'You cannot specify KeySpec and CustomerMasterKeySpec in the same request. CustomerMasterKeySpec is deprecated.',
      );
    }
    const spec = input.KeySpec ?? input.CustomerMasterKeySpec ?? 'SYMMETRIC_DEFAULT';
    const info = keySpecInfo(spec);
    // AWS offers SM2 only in China Regions and answers elsewhere in these words.
    if (info?.kind === 'SM2')
      throw kmsError(
        'UnsupportedOperationException',
        'KeySpec SM2 is not supported in this Region',
      );
    if (info === undefined || !info.supported) {
      throw kmsError(
        'UnsupportedOperationException',
        `KeySpec ${spec} is not supported by this keyhold version.${info?.unsupportedReason === undefined ? '' : ` ${info.unsupportedReason}`}`,
      );
    }
    /* Precondition: KeyUsage is given for every spec but SYMMETRIC_DEFAULT (model, CreateKey KeyUsage). */
    if (input.KeyUsage === undefined && spec !== 'SYMMETRIC_DEFAULT') {
      throw kmsError(
        'ValidationException',
        'You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys.',
      );
    }
    const usage = input.KeyUsage ?? DEFAULT_KEY_USAGE;
    if (!allowsUsage(spec, usage)) {
      throw kmsError(
        'ValidationException',
        `KeyUsage ${usage} is not compatible with KeySpec ${spec}`,
      );
    }
    if (
      input.CustomKeyStoreId !== undefined ||
      input.Origin === 'AWS_CLOUDHSM' ||
      input.Origin === 'EXTERNAL_KEY_STORE'
    ) {
      /* Precondition: Origin AWS_CLOUDHSM / EXTERNAL_KEY_STORE comes with a CustomKeyStoreId. */
      if (input.CustomKeyStoreId === undefined)
        throw kmsError(
          'ValidationException',
          `Origin ${input.Origin} requires the CustomKeyStoreId parameter.`,
        );
      const policy = input.Policy ?? defaultKeyPolicy(ctx.principal.accountId);
      checkPolicyDocument(policy);
      const tags = normalizeTags(input.Tags);
      checkTagLimit(tags.length);
      const metadata = await createCustomStoreKey(ctx, input, {
        spec,
        usage,
        multiRegion: input.MultiRegion === true,
        policy,
        tags,
        checkPolicy: async (key) => {
          if (input.Policy === undefined) return;
          key.policyPrincipals = await checkPrincipalsExist(ctx, policy);
          await checkLockoutSafety(ctx, key, policy, input.BypassPolicyLockoutSafetyCheck === true);
        },
      });
      return { KeyMetadata: metadata };
    }
    const origin = input.Origin ?? 'AWS_KMS';
    // EXTERNAL: no material until ImportKeyMaterial (kms/material/import-material.ts); every spec keyhold can
    // create may be imported (GetParametersForImport doc: "All KMS key types are supported").
    if (origin !== 'AWS_KMS' && origin !== 'EXTERNAL') {
      throw kmsError(
        'UnsupportedOperationException',
        `Origin ${origin} is not supported by this keyhold version.`,
      );
    }
    if (input.XksKeyId !== undefined) {
      throw kmsError(
        'ValidationException',
        'XksKeyId is valid only with Origin EXTERNAL_KEY_STORE.',
      );
    }
    const multiRegion = input.MultiRegion === true;
    const policy = input.Policy ?? defaultKeyPolicy(ctx.principal.accountId);
    checkPolicyDocument(policy);
    const tags = normalizeTags(input.Tags);
    checkTagLimit(tags.length);

    const keyId = multiRegion ? newMultiRegionKeyId() : randomUUID();
    const arn = keyArn(ctx.region, ctx.principal.accountId, keyId);
    const versionId = randomBytes(32).toString('hex');
    const binding = { keyArn: arn, versionId };
    const external = origin === 'EXTERNAL';
    // The key material by kind: an HBK, an HMAC key, or a key pair (public key kept in clear).
    const wrapped = external
      ? undefined
      : info.keyPair !== undefined
        ? await ctx.services.hsm.createKeyPair(binding, info.keyPair)
        : info.hmacKeyBytes !== undefined
          ? ctx.services.hsm.createHmacKey(binding, info.hmacKeyBytes)
          : ctx.services.hsm.createBackingKey(binding);
    const key: KeyRecord = {
      region: ctx.region,
      keyId,
      accountId: ctx.principal.accountId,
      arn,
      description: input.Description ?? '',
      keyState: external ? 'PendingImport' : 'Enabled',
      keySpec: spec,
      keyUsage: usage,
      origin,
      keyManager: 'CUSTOMER',
      multiRegion,
      policy,
      creationDate: ctx.now,
      currentVersionId: external ? undefined : versionId,
      revision: 0,
    };
    if (input.Policy !== undefined) {
      key.policyPrincipals = await checkPrincipalsExist(ctx, policy);
      await checkLockoutSafety(ctx, key, policy, input.BypassPolicyLockoutSafetyCheck === true);
    }
    await ctx.services.storage.createKey(
      key,
      wrapped && { region: ctx.region, keyId, versionId, ...wrapped, createdAt: ctx.now },
      tags,
    );
    if (multiRegion) {
      await ctx.services.storage.multiRegion.addMember({
        accountId: key.accountId,
        keyId,
        region: ctx.region,
        role: 'PRIMARY',
      });
    }
    ctx.keyArns.push(arn);
    return { KeyMetadata: await describeKeyMetadata(ctx.services.storage, key) };
  },
});
