/**
 * Imported key material (Origin EXTERNAL), as the AWS console's "Key material" tab: download
 * the wrapping public key and import token (GetParametersForImport), upload the wrapped
 * key material with the token and its expiration (ImportKeyMaterial), delete it
 * (DeleteImportedKeyMaterial, confirmed).
 */
import {
  DeleteImportedKeyMaterialCommand,
  GetParametersForImportCommand,
  ImportKeyMaterialCommand,
  type AlgorithmSpec,
  type KeyMetadata,
  type WrappingKeySpec,
} from '@aws-sdk/client-kms';
import { useState } from 'preact/hooks';
import { kms, type Session } from '../api';
import { Busy, ErrorBox, fmtDate } from '../ui';
import { ActionButton, DeniedList, download, useConfirm, useGuarded } from '../widgets';

const WRAPPING_ALGORITHMS: AlgorithmSpec[] = [
  'RSAES_OAEP_SHA_256',
  'RSAES_OAEP_SHA_1',
  'RSA_AES_KEY_WRAP_SHA_256',
  'RSA_AES_KEY_WRAP_SHA_1',
];
const WRAPPING_KEY_SPECS: WrappingKeySpec[] = ['RSA_4096', 'RSA_3072', 'RSA_2048'];

const bytesOf = async (f: File | undefined) =>
  f === undefined ? undefined : new Uint8Array(await f.arrayBuffer());

export function KeyMaterial(props: { session: Session; meta: KeyMetadata; onChange: () => void }) {
  const { session, meta } = props;
  const id = meta.KeyId as string;
  const client = kms(session);
  const guarded = useGuarded();
  const { act, denied } = guarded;
  const { dialog, ask } = useConfirm();
  const rsaKey = meta.KeySpec?.startsWith('RSA_') === true;
  const [algorithm, setAlgorithm] = useState<AlgorithmSpec>(
    rsaKey ? 'RSA_AES_KEY_WRAP_SHA_256' : 'RSAES_OAEP_SHA_256',
  );
  const [wrappingSpec, setWrappingSpec] = useState<WrappingKeySpec>('RSA_4096');
  const [validTo, setValidTo] = useState<Date>();
  const [material, setMaterial] = useState<File>();
  const [token, setToken] = useState<File>();
  const [expires, setExpires] = useState(false);
  const [until, setUntil] = useState('');
  const [problem, setProblem] = useState<string>();

  const getParameters = () =>
    guarded.run(
      'kms:GetParametersForImport',
      'Getting the wrapping key and import token…',
      async () => {
        const r = await client.send(
          new GetParametersForImportCommand({
            KeyId: id,
            WrappingAlgorithm: algorithm,
            WrappingKeySpec: wrappingSpec,
          }),
        );
        download(
          `WrappingPublicKey_${id}.bin`,
          r.PublicKey as Uint8Array,
          'application/octet-stream',
        );
        download(`ImportToken_${id}.bin`, r.ImportToken as Uint8Array, 'application/octet-stream');
        setValidTo(r.ParametersValidTo);
      },
    );

  const upload = async (e: Event) => {
    e.preventDefault();
    const expiry = expires ? new Date(until) : undefined;
    const p =
      material === undefined || token === undefined
        ? 'Choose the wrapped key material and the import token files.'
        : expiry !== undefined && Number.isNaN(expiry.getTime())
          ? 'Enter the date the key material expires.'
          : undefined;
    setProblem(p);
    if (p !== undefined) return;
    const ok = await guarded.run('kms:ImportKeyMaterial', 'Importing key material…', async () =>
      client.send(
        new ImportKeyMaterialCommand({
          KeyId: id,
          EncryptedKeyMaterial: await bytesOf(material),
          ImportToken: await bytesOf(token),
          ExpirationModel:
            expiry !== undefined ? 'KEY_MATERIAL_EXPIRES' : 'KEY_MATERIAL_DOES_NOT_EXPIRE',
          ...(expiry !== undefined ? { ValidTo: expiry } : {}),
        }),
      ),
    );
    if (ok) props.onChange();
  };

  const remove = async () => {
    const ok = await ask({
      title: 'Delete the key material?',
      body: (
        <p>
          The key becomes unusable (PendingImport) until you import the same key material again.
          Keep a copy of it: without it, data encrypted under this key is lost.
        </p>
      ),
      confirm: 'Delete key material',
      danger: true,
    });
    if (
      ok &&
      (await guarded.run('kms:DeleteImportedKeyMaterial', 'Deleting key material…', () =>
        client.send(new DeleteImportedKeyMaterialCommand({ KeyId: id })),
      ))
    )
      props.onChange();
  };

  return (
    <section aria-labelledby="material-h">
      {dialog}
      <h2 id="material-h">Key material</h2>
      <p data-testid="material-state">
        {meta.KeyState === 'PendingImport'
          ? 'No key material is imported: the key cannot be used until you import it.'
          : meta.ExpirationModel === 'KEY_MATERIAL_EXPIRES'
            ? `Imported; it expires on ${fmtDate(meta.ValidTo)}.`
            : 'Imported; it does not expire.'}
      </p>
      <h3>1. Download the wrapping public key and import token</h3>
      <div class="row">
        <label>
          Wrapping algorithm
          <select
            name="wrappingAlgorithm"
            value={algorithm}
            onChange={(e) => setAlgorithm(e.currentTarget.value as AlgorithmSpec)}
          >
            {WRAPPING_ALGORITHMS.map((a) => (
              <option key={a}>{a}</option>
            ))}
          </select>
        </label>
        <label>
          Wrapping key spec
          <select
            name="wrappingKeySpec"
            value={wrappingSpec}
            onChange={(e) => setWrappingSpec(e.currentTarget.value as WrappingKeySpec)}
          >
            {WRAPPING_KEY_SPECS.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <ActionButton
          action="kms:GetParametersForImport"
          denied={denied}
          onClick={() => void getParameters()}
        >
          Download wrapping key and import token
        </ActionButton>
      </div>
      {validTo !== undefined && (
        <p class="note" role="status" data-testid="parameters-valid-to">
          Downloaded. The import token and wrapping key are valid until {fmtDate(validTo)} (24
          hours).
        </p>
      )}
      <h3>2. Upload the wrapped key material</h3>
      <form class="stack" onSubmit={(e) => void upload(e)}>
        <label>
          Wrapped key material
          <input
            name="encryptedKeyMaterial"
            type="file"
            onChange={(e) => setMaterial(e.currentTarget.files?.[0])}
          />
        </label>
        <label>
          Import token
          <input
            name="importToken"
            type="file"
            onChange={(e) => setToken(e.currentTarget.files?.[0])}
          />
        </label>
        <label class="check">
          <input
            type="checkbox"
            name="expires"
            checked={expires}
            onChange={(e) => setExpires(e.currentTarget.checked)}
          />
          <span>Key material expires</span>
        </label>
        {expires && (
          <label>
            Expiration date and time
            <input
              name="validTo"
              type="datetime-local"
              value={until}
              onInput={(e) => setUntil(e.currentTarget.value)}
            />
          </label>
        )}
        <div class="row">
          <button type="submit" class="primary" disabled={denied.has('kms:ImportKeyMaterial')}>
            Import key material
          </button>
        </div>
      </form>
      {problem !== undefined && (
        <p class="error-text" role="alert">
          {problem}
        </p>
      )}
      {meta.KeyState !== 'PendingImport' && (
        <div class="row">
          <ActionButton
            action="kms:DeleteImportedKeyMaterial"
            denied={denied}
            class="danger"
            onClick={() => void remove()}
          >
            Delete key material
          </ActionButton>
        </div>
      )}
      {act.busy !== undefined && <Busy label={act.busy} />}
      <ErrorBox error={act.error} />
      <DeniedList denied={denied} />
    </section>
  );
}
