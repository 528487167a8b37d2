/**
 * The five-step create wizard of the AWS console: alias and description, tags, key
 * administrators, key users, review with the policy preview. Finishing calls CreateKey
 * with that policy, then CreateAlias.
 */
import { CreateAliasCommand, CreateKeyCommand } from '@aws-sdk/client-kms';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { admin, isRoot, kms, type Session } from '../api';
import { aliasNameProblem } from '../../../src/kms/key-spec-table';
import { defaultKeyPolicy } from '../policy';
import { navigate } from '../router';
import { Busy, ErrorBox, Page, useAsync } from '../ui';
import {
  configProblem,
  DEFAULT_CONFIG,
  KeyConfigFields,
  ORIGINS,
  usageOf,
  type KeyConfig,
} from './create-key-config';

const STEPS = ['Alias and description', 'Tags', 'Key administrators', 'Key users', 'Review'];

interface Identity {
  arn: string;
  name: string;
  kind: 'User' | 'Role';
}

async function loadIdentities(s: Session): Promise<Identity[]> {
  const users = await admin<{ Users: { Arn: string; UserName: string }[] }>(s, 'ListUsers');
  const roles = await admin<{ Roles: { Arn: string; RoleName: string }[] }>(s, 'ListRoles');
  return [
    ...users.Users.map((u) => ({ arn: u.Arn, name: u.UserName, kind: 'User' as const })),
    ...roles.Roles.map((r) => ({ arn: r.Arn, name: r.RoleName, kind: 'Role' as const })),
  ];
}

function parseArns(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((x) => x.trim())
    .filter((x) => x !== '');
}

function PrincipalPicker(props: {
  id: string;
  legend: string;
  identities: Identity[] | undefined;
  error: unknown;
  selected: string[];
  onChange: (arns: string[]) => void;
  other: string;
  onOther: (v: string) => void;
}) {
  const toggle = (arn: string, on: boolean) =>
    props.onChange(on ? [...props.selected, arn] : props.selected.filter((a) => a !== arn));
  return (
    <fieldset>
      <legend>{props.legend}</legend>
      {props.error !== undefined && (
        <p class="note">
          Listing IAM users and roles needs the account root (keyhold admin API); enter ARNs below
          instead.
        </p>
      )}
      {props.identities?.length === 0 && (
        <p class="muted">This account has no IAM users or roles yet.</p>
      )}
      <ul class="plain checks">
        {props.identities?.map((i) => (
          <li key={i.arn}>
            <label class="check">
              <input
                type="checkbox"
                name={`${props.id}-${i.name}`}
                value={i.arn}
                checked={props.selected.includes(i.arn)}
                onChange={(e) => toggle(i.arn, e.currentTarget.checked)}
              />
              <span>
                {i.name} <span class="muted">({i.kind})</span>
              </span>
            </label>
          </li>
        ))}
      </ul>
      <label>
        Other principal ARNs (one per line)
        <textarea
          name={`${props.id}-other`}
          rows={2}
          value={props.other}
          placeholder="arn:aws:iam::111122223333:role/Example"
          onInput={(e) => props.onOther(e.currentTarget.value)}
        />
      </label>
    </fieldset>
  );
}

export function CreateKey({ session }: { session: Session }) {
  const [step, setStep] = useState(0);
  const [config, setConfig] = useState<KeyConfig>(DEFAULT_CONFIG);
  const keySpec = config.keySpec;
  const [alias, setAlias] = useState('');
  const [description, setDescription] = useState('');
  const [tags, setTags] = useState<{ k: string; v: string }[]>([]);
  const [admins, setAdmins] = useState<string[]>([]);
  const [adminOther, setAdminOther] = useState('');
  const [allowDelete, setAllowDelete] = useState(true);
  const [users, setUsers] = useState<string[]>([]);
  const [userOther, setUserOther] = useState('');
  const [problem, setProblem] = useState<string>();
  const [progress, setProgress] = useState<string>();
  const [error, setError] = useState<unknown>();
  const heading = useRef<HTMLHeadingElement>(null);
  const ids = useAsync(
    () => (isRoot(session) ? loadIdentities(session) : Promise.reject(new Error('not root'))),
    [session],
  );
  const usage = usageOf(config);

  useEffect(() => heading.current?.focus(), [step]);

  const policy = useMemo(
    () =>
      defaultKeyPolicy({
        account: session.account,
        admins: [...admins, ...parseArns(adminOther)],
        users: [...users, ...parseArns(userOther)],
        allowAdminsToDelete: allowDelete,
        keySpec,
        keyUsage: usage,
      }),
    [session.account, admins, adminOther, users, userOther, allowDelete, keySpec, usage],
  );
  const policyText = JSON.stringify(policy, null, 2);

  const validate = (): string | undefined => {
    if (step === 0 && alias.trim() === '') return 'Enter an alias.';
    const aliasProblem = aliasNameProblem(`alias/${alias.replace(/^alias\//, '')}`);
    if (step === 0 && aliasProblem !== undefined) return aliasProblem;
    if (step === 0 && configProblem(config) !== undefined) return configProblem(config);
    if (step === 1 && tags.some((t) => t.k.trim() === ''))
      return 'Every tag needs a key (or remove the row).';
    if (step === 1 && new Set(tags.map((t) => t.k)).size !== tags.length)
      return 'Tag keys must be different.';
    const bad = [...parseArns(adminOther), ...parseArns(userOther)].find(
      (a) => !/^arn:aws:(iam|sts)::\d{12}:/.test(a),
    );
    if ((step === 2 || step === 3) && bad !== undefined)
      return `"${bad}" is not an IAM principal ARN.`;
    return undefined;
  };

  const create = async () => {
    setError(undefined);
    const client = kms(session);
    try {
      setProgress('Step 1 of 2: creating the key…');
      const out = await client.send(
        new CreateKeyCommand({
          KeySpec: keySpec,
          KeyUsage: usage,
          Origin: config.origin,
          ...(config.multiRegion ? { MultiRegion: true } : {}),
          ...(config.origin === 'AWS_CLOUDHSM' || config.origin === 'EXTERNAL_KEY_STORE'
            ? { CustomKeyStoreId: config.customKeyStoreId }
            : {}),
          ...(config.origin === 'EXTERNAL_KEY_STORE' ? { XksKeyId: config.xksKeyId.trim() } : {}),
          Description: description,
          Policy: policyText,
          ...(tags.length > 0 ? { Tags: tags.map((t) => ({ TagKey: t.k, TagValue: t.v })) } : {}),
        }),
      );
      const keyId = out.KeyMetadata?.KeyId as string;
      setProgress('Step 2 of 2: creating the alias…');
      try {
        await client.send(
          new CreateAliasCommand({
            AliasName: `alias/${alias.replace(/^alias\//, '')}`,
            TargetKeyId: keyId,
          }),
        );
      } catch (e) {
        setError(e);
        setProblem(`The key ${keyId} was created, but its alias was not.`);
        return;
      }
      // Imported key material comes next: open the key on its Key material tab.
      navigate(`/keys/${keyId}?created=1${config.origin === 'EXTERNAL' ? '&tab=material' : ''}`);
    } catch (e) {
      setError(e);
    } finally {
      setProgress(undefined);
    }
  };

  const next = (e: Event) => {
    e.preventDefault();
    const p = validate();
    setProblem(p);
    if (p !== undefined) return;
    if (step < STEPS.length - 1) setStep(step + 1);
    else void create();
  };

  return (
    <Page title="Create key">
      <ol class="steps" aria-label="Steps">
        {STEPS.map((s, i) => (
          <li key={s} aria-current={i === step ? 'step' : undefined} class={i < step ? 'done' : ''}>
            <span class="n">{i + 1}</span> {s}
          </li>
        ))}
      </ol>
      <form class="card wizard" onSubmit={next} noValidate>
        <h2 tabIndex={-1} ref={heading}>
          Step {step + 1} of {STEPS.length}: {STEPS[step]}
        </h2>
        {step === 0 && (
          <>
            <KeyConfigFields session={session} config={config} onChange={setConfig} />
            <label>
              Alias
              <span class="input-prefix">
                <span aria-hidden="true">alias/</span>
                <input
                  name="alias"
                  value={alias}
                  required
                  aria-describedby="alias-help"
                  onInput={(e) => setAlias(e.currentTarget.value)}
                />
              </span>
            </label>
            <p id="alias-help" class="muted">
              A friendly name, e.g. <code>orders/prod</code>.
            </p>
            <label>
              Description (optional)
              <textarea
                name="description"
                rows={2}
                value={description}
                onInput={(e) => setDescription(e.currentTarget.value)}
              />
            </label>
          </>
        )}
        {step === 1 && (
          <fieldset>
            <legend>Tags (optional)</legend>
            {tags.length === 0 && <p class="muted">No tags.</p>}
            {tags.map((t, i) => (
              <div class="row" key={i}>
                <label>
                  Tag key {i + 1}
                  <input
                    name={`tagKey${i}`}
                    value={t.k}
                    onInput={(e) =>
                      setTags(
                        tags.map((x, j) => (j === i ? { ...x, k: e.currentTarget.value } : x)),
                      )
                    }
                  />
                </label>
                <label>
                  Tag value {i + 1}
                  <input
                    name={`tagValue${i}`}
                    value={t.v}
                    onInput={(e) =>
                      setTags(
                        tags.map((x, j) => (j === i ? { ...x, v: e.currentTarget.value } : x)),
                      )
                    }
                  />
                </label>
                <button
                  type="button"
                  aria-label={`Remove tag ${i + 1}`}
                  onClick={() => setTags(tags.filter((_, j) => j !== i))}
                >
                  Remove
                </button>
              </div>
            ))}
            <button type="button" onClick={() => setTags([...tags, { k: '', v: '' }])}>
              Add tag
            </button>
          </fieldset>
        )}
        {step === 2 && (
          <>
            <PrincipalPicker
              id="admin"
              legend="Who can administer this key"
              identities={ids.data}
              error={ids.error}
              selected={admins}
              onChange={setAdmins}
              other={adminOther}
              onOther={setAdminOther}
            />
            <label class="check">
              <input
                type="checkbox"
                name="allowDelete"
                checked={allowDelete}
                onChange={(e) => setAllowDelete(e.currentTarget.checked)}
              />
              <span>Allow key administrators to delete this key</span>
            </label>
          </>
        )}
        {step === 3 && (
          <PrincipalPicker
            id="user"
            legend="Who can use this key in cryptographic operations"
            identities={ids.data}
            error={ids.error}
            selected={users}
            onChange={setUsers}
            other={userOther}
            onOther={setUserOther}
          />
        )}
        {step === 4 && (
          <>
            <dl class="meta">
              <div>
                <dt>Alias</dt>
                <dd>alias/{alias.replace(/^alias\//, '')}</dd>
              </div>
              <div>
                <dt>Description</dt>
                <dd>{description || '—'}</dd>
              </div>
              <div>
                <dt>Key spec / usage</dt>
                <dd>
                  {keySpec} / {usage}
                </dd>
              </div>
              <div>
                <dt>Origin</dt>
                <dd data-testid="review-origin">
                  {ORIGINS[config.origin]}
                  {config.customKeyStoreId !== '' ? ` (${config.customKeyStoreId})` : ''}
                </dd>
              </div>
              <div>
                <dt>Regionality</dt>
                <dd>{config.multiRegion ? 'Multi-Region' : 'Single-Region'}</dd>
              </div>
              <div>
                <dt>Tags</dt>
                <dd>{tags.length === 0 ? '—' : tags.map((t) => `${t.k}=${t.v}`).join(', ')}</dd>
              </div>
            </dl>
            <label for="policy-preview">Key policy</label>
            <pre id="policy-preview" class="code" tabIndex={0} data-testid="policy-preview">
              {policyText}
            </pre>
          </>
        )}
        {problem !== undefined && (
          <p class="error-text" role="alert">
            {problem}
          </p>
        )}
        <ErrorBox error={error} />
        {progress !== undefined && <Busy label={progress} />}
        <div class="row wizard-nav">
          {step > 0 && (
            <button
              type="button"
              onClick={() => {
                setProblem(undefined);
                setStep(step - 1);
              }}
            >
              Previous
            </button>
          )}
          <button type="submit" class="primary" disabled={progress !== undefined}>
            {step < STEPS.length - 1 ? 'Next' : 'Create key'}
          </button>
        </div>
      </form>
    </Page>
  );
}
