import type {
  ListKeyRotationsRequest,
  ListKeyRotationsResponse,
  RotationsListEntry,
} from '@aws-sdk/client-kms';
import { operation } from '../operation.js';
import { decodeMarker, page } from '../pagination.js';
import { useRotationKey } from '../material/rotate-material.js';

interface Entry {
  sortKey: string;
  entry: RotationsListEntry;
}

/** Zero-padded epoch ms, so sort keys order by date. */
const at = (d: Date) => String(d.getTime()).padStart(15, '0');

/**
 * ListKeyRotations: completed rotations oldest first; with IncludeKeyMaterial
 * ALL_KEY_MATERIAL also the first key material (no RotationDate / RotationType, model doc),
 * listed before them, and imported material pending rotation, after them. Entries of
 * symmetric EXTERNAL keys carry ImportState, ExpirationModel, ValidTo and
 * KeyMaterialDescription. Limit 1–1000 (model validator), default 100. KeyMaterialId is the
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
    // Symmetric EXTERNAL keys: per-material import details, listed from the materials (an
    // imported material's EKT may be deleted; it stays associated and listed).
    const imported =
      key.origin === 'EXTERNAL'
        ? new Map(
            (await storage.imports.listImportedMaterials(key.region, key.keyId)).map((m) => [
              m.materialId,
              m,
            ]),
          )
        : undefined;
    const details = (versionId: string): Partial<RotationsListEntry> => {
      const m = imported?.get(versionId);
      if (m === undefined) return {};
      const d: Partial<RotationsListEntry> = {
        ImportState: m.imported ? 'IMPORTED' : 'PENDING_IMPORT',
      };
      if (m.description !== undefined) d.KeyMaterialDescription = m.description;
      if (m.expirationModel !== undefined) d.ExpirationModel = m.expirationModel;
      if (m.validTo !== undefined) d.ValidTo = m.validTo;
      return d;
    };
    const rotations = await storage.rotation.listRotations(key.region, key.keyId);
    const entries: Entry[] = rotations.map((r) => ({
      sortKey: `r:${at(r.rotationDate)}:${r.versionId}`,
      entry: {
        KeyId: key.arn,
        KeyMaterialId: r.versionId,
        ...details(r.versionId),
        KeyMaterialState: state(r.versionId),
        RotationDate: r.rotationDate,
        RotationType: r.rotationType,
      },
    }));
    if (input.IncludeKeyMaterial === 'ALL_KEY_MATERIAL') {
      const rotated = new Set(rotations.map((r) => r.versionId));
      const others =
        imported === undefined
          ? (await storage.listKeyVersions(key.region, key.keyId)).map((v) => ({
              id: v.versionId,
              at: v.createdAt,
              pending: false,
            }))
          : [...imported.values()].map((m) => ({
              id: m.materialId,
              at: m.associatedAt,
              pending: m.pendingRotation,
            }));
      for (const o of others) {
        if (rotated.has(o.id)) continue;
        // The first material before the rotations, material pending rotation after them.
        entries.push({
          sortKey: `${o.pending ? 's' : 'i'}:${at(o.at)}:${o.id}`,
          entry: {
            KeyId: key.arn,
            KeyMaterialId: o.id,
            ...details(o.id),
            KeyMaterialState: o.pending ? 'PENDING_ROTATION' : state(o.id),
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
