/**
 * The wizard's key configuration, as the AWS console's "Configure key" step: key type and
 * usage, key spec (both from the server's spec table), and the advanced options — key
 * material origin (KMS, external/import, AWS CloudHSM key store, external key store) and
 * single- or multi-Region.
 */
import {
  DescribeCustomKeyStoresCommand,
  type CustomKeyStoresListEntry,
  type KeySpec,
  type KeyUsageType,
  type OriginType,
} from '@aws-sdk/client-kms';
import { KEY_USAGE_LABELS, KEY_USAGES, specsForUsage } from '../../../src/kms/key-spec-table';
import { allPages, kms, type Session } from '../api';
import { Badge, ErrorBox, useAsync } from '../ui';

/** Key type and usage as the AWS console offers them, from the server's own spec table. */
export const KEY_TYPES: Readonly<Record<string, { usage: KeyUsageType; specs: KeySpec[] }>> =
  Object.fromEntries(
    ([true, false] as const).flatMap((symmetric) =>
      KEY_USAGES.map((usage) => ({ usage, specs: specsForUsage(usage, symmetric) as KeySpec[] }))
        .filter((t) => t.specs.length > 0)
        .map((t) => {
          const words = KEY_USAGE_LABELS[t.usage];
          const label = `${symmetric ? 'Symmetric' : 'Asymmetric'}, ${words[0]?.toLowerCase()}${words.slice(1)}`;
          return [label, t];
        }),
    ),
  );

export const ORIGINS: Readonly<Record<OriginType, string>> = {
  AWS_KMS: 'KMS',
  EXTERNAL: 'External (import key material)',
  AWS_CLOUDHSM: 'AWS CloudHSM key store',
  EXTERNAL_KEY_STORE: 'External key store',
};

export interface KeyConfig {
  keyType: string;
  keySpec: KeySpec;
  origin: OriginType;
  multiRegion: boolean;
  customKeyStoreId: string;
  xksKeyId: string;
  /** "I understand the implications of imported key material" (the AWS console asks). */
  importAcknowledged: boolean;
}

export const DEFAULT_CONFIG: KeyConfig = {
  keyType: Object.keys(KEY_TYPES)[0] as string,
  keySpec: 'SYMMETRIC_DEFAULT',
  origin: 'AWS_KMS',
  multiRegion: false,
  customKeyStoreId: '',
  xksKeyId: '',
  importAcknowledged: false,
};

export const usageOf = (c: KeyConfig): KeyUsageType =>
  (KEY_TYPES[c.keyType] as { usage: KeyUsageType }).usage;

const inStore = (o: OriginType) => o === 'AWS_CLOUDHSM' || o === 'EXTERNAL_KEY_STORE';

/** Why this configuration cannot be created, or undefined (checked before CreateKey). */
export function configProblem(c: KeyConfig): string | undefined {
  if (inStore(c.origin) && c.keySpec !== 'SYMMETRIC_DEFAULT')
    return 'Keys in a custom key store are symmetric encryption keys (SYMMETRIC_DEFAULT) only.';
  if (inStore(c.origin) && c.customKeyStoreId === '') return 'Choose a connected key store.';
  if (c.origin === 'EXTERNAL_KEY_STORE' && c.xksKeyId.trim() === '')
    return 'Enter the ID of the key in your external key manager.';
  if (c.origin === 'EXTERNAL' && !c.importAcknowledged)
    return 'Confirm that you understand what imported key material means.';
  return undefined;
}

function StorePicker(props: {
  session: Session;
  config: KeyConfig;
  set: (c: Partial<KeyConfig>) => void;
}) {
  const type = props.config.origin;
  const stores = useAsync(
    () =>
      allPages(async (Marker) => {
        const r = await kms(props.session).send(new DescribeCustomKeyStoresCommand({ Marker }));
        return { items: r.CustomKeyStores ?? [], next: r.Truncated ? r.NextMarker : undefined };
      }),
    [props.session],
  );
  const mine = (stores.data ?? []).filter(
    (s: CustomKeyStoresListEntry) => s.CustomKeyStoreType === type,
  );
  return (
    <fieldset>
      <legend>{ORIGINS[type]}</legend>
      <ErrorBox error={stores.error} />
      {stores.data !== undefined && mine.length === 0 && (
        <p class="note">
          There is no {ORIGINS[type]} in this account and Region: create one first.
        </p>
      )}
      <ul class="plain checks">
        {mine.map((s) => (
          <li key={s.CustomKeyStoreId}>
            <label class="check">
              <input
                type="radio"
                name="customKeyStoreId"
                value={s.CustomKeyStoreId}
                disabled={s.ConnectionState !== 'CONNECTED'}
                checked={props.config.customKeyStoreId === s.CustomKeyStoreId}
                onChange={() => props.set({ customKeyStoreId: s.CustomKeyStoreId as string })}
              />
              <span>
                {s.CustomKeyStoreName} <Badge state={s.ConnectionState} />
              </span>
            </label>
          </li>
        ))}
      </ul>
      {type === 'EXTERNAL_KEY_STORE' && (
        <label>
          External key ID
          <input
            name="xksKeyId"
            value={props.config.xksKeyId}
            onInput={(e) => props.set({ xksKeyId: e.currentTarget.value })}
          />
        </label>
      )}
    </fieldset>
  );
}

export function KeyConfigFields(props: {
  session: Session;
  config: KeyConfig;
  onChange: (c: KeyConfig) => void;
}) {
  const c = props.config;
  const set = (p: Partial<KeyConfig>) => props.onChange({ ...c, ...p });
  const specs = (KEY_TYPES[c.keyType] as { specs: KeySpec[] }).specs;
  return (
    <>
      <label>
        Key type and usage
        <select
          name="keyType"
          value={c.keyType}
          onChange={(e) => {
            const t = e.currentTarget.value;
            set({
              keyType: t,
              keySpec: (KEY_TYPES[t] as { specs: KeySpec[] }).specs[0] as KeySpec,
            });
          }}
        >
          {Object.keys(KEY_TYPES).map((t) => (
            <option key={t}>{t}</option>
          ))}
        </select>
      </label>
      <label>
        Key spec
        <select
          name="keySpec"
          value={c.keySpec}
          onChange={(e) => set({ keySpec: e.currentTarget.value as KeySpec })}
        >
          {specs.map((s) => (
            <option key={s}>{s}</option>
          ))}
        </select>
      </label>
      <details class="advanced" open={c.origin !== 'AWS_KMS' || c.multiRegion}>
        <summary>Advanced options</summary>
        <fieldset>
          <legend>Key material origin</legend>
          {(Object.keys(ORIGINS) as OriginType[]).map((o) => (
            <label class="check" key={o}>
              <input
                type="radio"
                name="origin"
                value={o}
                checked={c.origin === o}
                onChange={() =>
                  set({
                    origin: o,
                    customKeyStoreId: '',
                    ...(inStore(o) ? { multiRegion: false } : {}),
                  })
                }
              />
              <span>{ORIGINS[o]}</span>
            </label>
          ))}
        </fieldset>
        {c.origin === 'EXTERNAL' && (
          <label class="check">
            <input
              type="checkbox"
              name="importAcknowledged"
              checked={c.importAcknowledged}
              onChange={(e) => set({ importAcknowledged: e.currentTarget.checked })}
            />
            <span>
              I understand the security, availability and durability implications of imported key
              material: keyhold cannot recover it, keep a copy.
            </span>
          </label>
        )}
        {inStore(c.origin) && <StorePicker session={props.session} config={c} set={set} />}
        <fieldset>
          <legend>Regionality</legend>
          <label class="check">
            <input
              type="radio"
              name="regionality"
              value="single"
              checked={!c.multiRegion}
              onChange={() => set({ multiRegion: false })}
            />
            <span>Single-Region key</span>
          </label>
          <label class="check">
            <input
              type="radio"
              name="regionality"
              value="multi"
              checked={c.multiRegion}
              disabled={inStore(c.origin)}
              onChange={() => set({ multiRegion: true })}
            />
            <span>Multi-Region key{inStore(c.origin) ? ' (not in a custom key store)' : ''}</span>
          </label>
        </fieldset>
      </details>
    </>
  );
}
