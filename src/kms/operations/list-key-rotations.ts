import type {
  ListKeyRotationsRequest,
  ListKeyRotationsResponse,
  RotationsListEntry,
} from '@aws-sdk/client-kms';
import { operation } from '../operation.js';
import { decodeMarker, page } from '../pagination.js';
import { useRotationKey } from '../rotation.js';

interface Entry {
  sortKey: string;
  entry: RotationsListEntry;
}

/** Zero-padded epoch ms, so sort keys order by date. */
const at = (d: Date) => String(d.getTime()).padStart(15, '0');

/**
 * ListKeyRotations: completed rotations oldest first; with IncludeKeyMaterial
 * ALL_KEY_MATERIAL also the first key material (no RotationDate / RotationType, model doc),
 * listed before them. Limit 1–1000 (model validator), default 100. KeyMaterialId is the
 * backing-key version id, as Decrypt and DescribeKey report it.
 */
export default operation<ListKeyRotationsRequest, ListKeyRotationsResponse>({
  name: 'ListKeyRotations',
  action: 'kms:ListKeyRotations',
  readOnly: true,
  async handler(ctx, input) {
    const limit = input.Limit ?? 100;
    const after = decodeMarker(input.Marker);
    const key = await useRotationKey(ctx, input.KeyId as string, 'ListKeyRotations');
    const storage = ctx.services.storage;
    const state = (versionId: string) =>
      versionId === key.currentVersionId ? 'CURRENT' : 'NON_CURRENT';
    const rotations = await storage.rotation.listRotations(key.region, key.keyId);
    const entries: Entry[] = rotations.map((r) => ({
      sortKey: `r:${at(r.rotationDate)}:${r.versionId}`,
      entry: {
        KeyId: key.arn,
        KeyMaterialId: r.versionId,
        KeyMaterialState: state(r.versionId),
        RotationDate: r.rotationDate,
        RotationType: r.rotationType,
      },
    }));
    if (input.IncludeKeyMaterial === 'ALL_KEY_MATERIAL') {
      const rotated = new Set(rotations.map((r) => r.versionId));
      for (const v of await storage.listKeyVersions(key.region, key.keyId)) {
        if (rotated.has(v.versionId)) continue;
        entries.push({
          sortKey: `i:${at(v.createdAt)}:${v.versionId}`,
          entry: {
            KeyId: key.arn,
            KeyMaterialId: v.versionId,
            KeyMaterialState: state(v.versionId),
          },
        });
      }
    }
    entries.sort((a, b) => (a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : 0));
    const rest = after === undefined ? entries : entries.filter((e) => e.sortKey > after);
    const { items, ...more } = page(rest.slice(0, limit + 1), limit, (e) => e.sortKey);
    return { Rotations: items.map((e) => e.entry), ...more };
  },
});
