/**
 * The audit log (keyhold admin API, account root): the newest events first (QueryAudit Order
 * NewestFirst), a page at a time back to older ones, the last hour shown on open; and the
 * chain's verification.
 */
import { DescribeKeyCommand } from '@aws-sdk/client-kms';
import { useEffect, useState } from 'preact/hooks';
import { admin, kms, type Session } from '../api';
import { Busy, ErrorBox, Id, Page, useAction, useAsync } from '../ui';

interface AuditEvent {
  eventTime: string;
  eventName: string;
  eventID: string;
  userIdentity: { arn?: string; type: string };
  sourceIPAddress: string;
  errorCode?: string;
  errorMessage?: string;
  resources?: { ARN: string }[];
  requestParameters: unknown;
}

interface Verify {
  Valid: boolean;
  EventsVerified: number;
  Problem?: { Seq: number; Reason: string };
  /** Log resets recorded in the chain (`keyhold serve --audit-reset`). */
  Resets?: { Seq: number; EventTime: string; Reason: string; PreviousAnchor?: { Seq: number } }[];
}

/** Events per QueryAudit page ("Load older events" fetches the next). */
const PAGE = 100;
const EVENT_NAMES = [
  'CreateKey',
  'DescribeKey',
  'Encrypt',
  'Decrypt',
  'GenerateDataKey',
  'ReEncrypt',
  'Sign',
  'Verify',
  'EnableKey',
  'DisableKey',
  'ScheduleKeyDeletion',
  'CancelKeyDeletion',
  'PutKeyPolicy',
  'GetKeyPolicy',
  'CreateAlias',
  'DeleteAlias',
  'TagResource',
  'UntagResource',
  'CreateGrant',
  'RevokeGrant',
  'EnableKeyRotation',
  'RotateKeyOnDemand',
  'AssumeRole',
  'GetCallerIdentity',
];

/** datetime-local values are local time; the API takes epoch seconds. */
function epoch(local: string): number | undefined {
  if (local === '') return undefined;
  const t = new Date(local).getTime();
  return Number.isNaN(t) ? undefined : t / 1000;
}

function localInput(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

function ChainStatus({ session }: { session: Session }) {
  const v = useAsync(() => admin<Verify>(session, 'VerifyAudit'), [session]);
  return (
    <div class="card" aria-labelledby="chain-h" data-testid="chain-status">
      <h2 id="chain-h">Chain verification</h2>
      {v.loading && <Busy label="Verifying the hash chain…" />}
      <ErrorBox error={v.error} />
      {v.data !== undefined &&
        !v.loading &&
        (v.data.Valid ? (
          <p class="ok-text" data-valid="true">
            ✓ Verified: all {v.data.EventsVerified} events are intact and in order (HMAC chain and
            signed head).
            {(v.data.Resets ?? []).map((r) => (
              <span key={r.Seq} class="error-text" data-testid="chain-reset" role="alert">
                <br />⚠ The log was reset at event {r.Seq} ({r.EventTime}): {r.Reason}. Events
                before it (up to event {r.PreviousAnchor?.Seq ?? '?'} of the old log) are not in
                this log.
              </span>
            ))}
          </p>
        ) : (
          <p class="error-text" data-valid="false" role="alert">
            ✗ Verification FAILED at event {v.data.Problem?.Seq}: {v.data.Problem?.Reason} (
            {v.data.EventsVerified} events verified before it). Run{' '}
            <code>keyhold audit verify</code> on the server and investigate.
          </p>
        ))}
      <button type="button" onClick={v.reload} disabled={v.loading}>
        Verify again
      </button>
    </div>
  );
}

interface Found {
  events: AuditEvent[];
  /** The cursor to the next older page, when there is one. */
  older: string | undefined;
  /** The query that found them (the filters as they were when Search was pressed). */
  query: Record<string, unknown>;
}

export function Audit({ session }: { session: Session }) {
  const [key, setKey] = useState('');
  const [principal, setPrincipal] = useState('');
  const [eventName, setEventName] = useState('');
  const [from, setFrom] = useState(() => localInput(new Date(Date.now() - 3600 * 1000)));
  const [to, setTo] = useState('');
  const [found, setFound] = useState<Found>();
  // Counts finished searches, so a page (and a test) can tell a new result from the last.
  const [searches, setSearches] = useState(0);
  const act = useAction();

  const fetchPage = (query: Record<string, unknown>, token: string | undefined) =>
    admin<{ Events: AuditEvent[]; NextToken?: string }>(session, 'QueryAudit', {
      ...query,
      Order: 'NewestFirst',
      Limit: PAGE,
      ...(token !== undefined ? { NextToken: token } : {}),
    });

  const search = (e?: Event) => {
    e?.preventDefault();
    void act.run('Searching the audit log…', async () => {
      let keyArn: string | undefined = key.trim() || undefined;
      // The log is indexed by key ARN: resolve a key ID or alias first.
      if (keyArn !== undefined && !keyArn.startsWith('arn:')) {
        const d = await kms(session).send(new DescribeKeyCommand({ KeyId: keyArn }));
        keyArn = d.KeyMetadata?.Arn;
      }
      const query = {
        KeyArn: keyArn,
        PrincipalArn: principal.trim() || undefined,
        EventName: eventName.trim() || undefined,
        StartTime: epoch(from),
        EndTime: epoch(to),
      };
      const page = await fetchPage(query, undefined);
      setFound({ events: page.Events, older: page.NextToken, query });
      setSearches((n) => n + 1);
    });
  };

  const older = () => {
    const f = found;
    if (f?.older === undefined) return;
    void act.run('Loading older events…', async () => {
      const page = await fetchPage(f.query, f.older);
      setFound({ ...f, events: [...f.events, ...page.Events], older: page.NextToken });
    });
  };

  // Show the last hour straight away rather than an empty page.
  useEffect(() => search(), []);

  return (
    <Page title="Audit log">
      <ChainStatus session={session} />
      <form class="card filters" onSubmit={search} role="search" aria-label="Audit filters">
        <label>
          Key (ID, alias or ARN)
          <input name="key" value={key} onInput={(e) => setKey(e.currentTarget.value)} />
        </label>
        <label>
          Principal ARN
          <input
            name="principal"
            value={principal}
            placeholder="arn:aws:iam::111122223333:user/alice"
            onInput={(e) => setPrincipal(e.currentTarget.value)}
          />
        </label>
        <label>
          Event name
          <input
            name="eventName"
            list="event-names"
            value={eventName}
            onInput={(e) => setEventName(e.currentTarget.value)}
          />
          <datalist id="event-names">
            {EVENT_NAMES.map((n) => (
              <option key={n} value={n} />
            ))}
          </datalist>
        </label>
        <label>
          From
          <input
            name="from"
            type="datetime-local"
            value={from}
            onInput={(e) => setFrom(e.currentTarget.value)}
          />
        </label>
        <label>
          To
          <input
            name="to"
            type="datetime-local"
            value={to}
            onInput={(e) => setTo(e.currentTarget.value)}
          />
        </label>
        <div class="row">
          <button type="submit" class="primary" disabled={act.busy !== undefined}>
            Search
          </button>
        </div>
      </form>
      {act.busy !== undefined && <Busy label={act.busy} />}
      <ErrorBox error={act.error} />
      {found !== undefined && (
        <>
          <p role="status" data-testid="audit-count" data-search={searches}>
            {found.events.length === 0
              ? 'No events match.'
              : `The ${found.events.length} newest matching events, newest first${
                  found.older !== undefined ? '; older ones follow with "Load older events"' : ''
                }.`}
          </p>
          {found.events.length > 0 && (
            <table class="list audit">
              <thead>
                <tr>
                  <th scope="col">Time (UTC)</th>
                  <th scope="col">Event</th>
                  <th scope="col">Principal</th>
                  <th scope="col">Key</th>
                  <th scope="col">Result</th>
                </tr>
              </thead>
              <tbody>
                {found.events.map((ev) => (
                  <tr
                    key={ev.eventID}
                    data-event-id={ev.eventID}
                    data-event-name={ev.eventName}
                    data-event-time={ev.eventTime}
                  >
                    <td data-label="Time">{ev.eventTime.replace('T', ' ').replace('Z', '')}</td>
                    <td data-label="Event">
                      <details>
                        <summary>{ev.eventName}</summary>
                        <pre class="code small">{JSON.stringify(ev, null, 2)}</pre>
                      </details>
                    </td>
                    <td data-label="Principal">
                      <Id value={ev.userIdentity.arn ?? ev.userIdentity.type} />
                    </td>
                    <td data-label="Key" class="mono">
                      {ev.resources === undefined || ev.resources.length === 0
                        ? '—'
                        : ev.resources.map((r, i) => (
                            <span key={r.ARN}>
                              {i > 0 && ', '}
                              <span class="nowrap-id">{r.ARN.split('/').at(-1)}</span>
                            </span>
                          ))}
                    </td>
                    <td data-label="Result">
                      {ev.errorCode ? (
                        <span class="badge bad">{ev.errorCode}</span>
                      ) : (
                        <span class="badge ok">OK</span>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {found.older !== undefined && (
            <button type="button" onClick={older} disabled={act.busy !== undefined}>
              Load older events
            </button>
          )}
        </>
      )}
    </Page>
  );
}
