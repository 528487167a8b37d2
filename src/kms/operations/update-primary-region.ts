/**
 * UpdatePrimaryRegion: the replica in PrimaryRegion becomes the primary and the current
 * primary a replica. keyhold switches synchronously (one storage transaction), so the
 * transient Updating state AWS shows is never visible. The automatic-rotation schedule, a
 * shared property kept on the primary, moves with it.
 */
import type { UpdatePrimaryRegionRequest } from '@aws-sdk/client-kms';
import { kmsError } from '../../errors/aws-errors.js';
import { keyArn } from '../keys/arn.js';
import { authorizeKey } from '../access/authorize.js';
import { notFoundKey } from '../keys/key-resolver.js';
import { checkKeyState } from '../keys/key-state.js';
import { requirePrimary } from '../keys/multi-region.js';
import { operation } from '../operation.js';
import { useKey } from '../keys/use-key.js';

export default operation<UpdatePrimaryRegionRequest, Record<string, never>>({
  name: 'UpdatePrimaryRegion',
  action: 'kms:UpdatePrimaryRegion',
  readOnly: false,
  async handler(ctx, input) {
    const region = input.PrimaryRegion as string;
    const primary = await useKey(ctx, input.KeyId as string, {
      operation: 'UpdatePrimaryRegion',
      action: 'kms:UpdatePrimaryRegion',
      aliases: false,
      authz: { conditions: { 'kms:PrimaryRegion': region } },
    });
    const { storage } = ctx.services;
    const members = await requirePrimary(storage, primary);
    if (region === primary.region) {
      throw kmsError(
        'ValidationException',
        `${primary.arn} is already the primary key; PrimaryRegion must name a replica's Region.`,
      );
    }
    // "There must be an existing replica key in this Region" (model doc, PrimaryRegion).
    const target = keyArn(region, primary.accountId, primary.keyId);
    const replica = members.some((m) => m.region === region && m.role === 'REPLICA')
      ? await storage.getKey(region, primary.keyId)
      : undefined;
    if (replica === undefined) throw notFoundKey(target);
    // kms:UpdatePrimaryRegion on the replica too, in the replica's Region (its own policy).
    await authorizeKey({ ...ctx, region }, replica, 'kms:UpdatePrimaryRegion', {
      conditions: { 'kms:PrimaryRegion': region },
    });
    checkKeyState('UpdatePrimaryRegion', replica);
    ctx.keyArns.push(replica.arn);
    if (
      !(await storage.multiRegion.swapPrimary(
        primary.accountId,
        primary.keyId,
        primary.region,
        region,
      ))
    ) {
      throw kmsError('KMSInvalidStateException', `${primary.arn} is updating.`);
    }
    // The rotation schedule belongs to the primary: move it.
    const settings = await storage.rotation.getRotationSettings(primary.region, primary.keyId);
    if (settings !== undefined) {
      await storage.rotation.putRotationSettings({ ...settings, region });
      await storage.rotation.putRotationSettings({
        ...settings,
        enabled: false,
        nextRotationDate: undefined,
      });
    }
    return {};
  },
});
