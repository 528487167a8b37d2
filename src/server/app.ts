/**
 * Assembles a keyhold node: storage → root key → domain keys → HSM → authenticator →
 * audit → HTTP. `startKeyhold` returns a handle whose `close()` finishes in-flight
 * requests, flushes the audit log and closes storage.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import { genesisAnchor } from '../audit/anchor.js';
import {
  answerClusterMetrics,
  startMetricsListener,
  type MetricsListener,
} from '../metrics/http.js';
import { AuditLog } from '../audit/audit-log.js';
import { Authenticator } from '../auth/authenticator.js';
import { rootArn } from '../auth/principal.js';
import type { Config } from '../config/config.js';
import { derivePurposeKey } from '../hsm/root-key.js';
import { SoftwareHsm } from '../hsm/software-hsm.js';
import type { Clock, Services } from '../kms/context.js';
import { DomainKeys, withDomainKeysLoaded } from '../kms/crypto/domain-keys.js';
import { withAwsErrors } from '../kms/crypto/hsm-errors.js';
import { runJobsOnce, type JobDeps } from '../kms/jobs/background-jobs.js';
import { ReplicaCreation } from '../kms/jobs/replica-creation.js';
import { setupCustomKeyStores } from '../keystores/setup.js';
import { KeyUsageTracker } from '../kms/keys/last-usage.js';
import { IdentityService } from '../iam/identity-service.js';
import { loadSeedFile } from '../iam/seed.js';
import { applySeedKeys } from './seed-keys.js';
import { isConsoleRequest, serveConsole } from './console-assets.js';
import { adminCodec } from './pipeline/admin.js';
import { kmsCodec } from './pipeline/kms.js';
import { createApiPipeline, type PipelineDeps } from './pipeline/pipeline.js';
import { stsCodec } from './pipeline/sts.js';
import { RequestQuotas } from '../quota/quotas.js';
import { createGuardedServer } from './edge.js';
import type { AuditRepository, Storage } from '../storage/repository.js';
import { ensurePrivateDataDir, octal } from './data-dir.js';
import { serveHealth } from './health.js';
import { openNodeStorage, type NodeStorage } from './storage-select.js';

export interface KeyholdNode {
  url: string;
  port: number;
  /** `http://host:port/metrics` of the separate metrics listener; unset when metrics are off. */
  metricsUrl?: string | undefined;
  /** Set when this start generated the bootstrap credentials (printed once). */
  generatedCredentials?: { accessKeyId: string; secretAccessKey: string } | undefined;
  rootKeyCreated: boolean;
  services: Services;
  jobs: JobDeps;
  /** This node's id (PostgreSQL mode: its audit chain and job-lease owner). */
  nodeId: string;
  /** One scheduler tick: runs the background jobs if this node holds the job lease. */
  runJobs(): Promise<boolean>;
  /** What the API listener calls per request; the in-process stage bench drives it without sockets. */
  handleApi(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** The request pipeline's dependencies (the stage bench times the stages one by one). */
  requestDeps: PipelineDeps;
  close(): Promise<void>;
}

export interface StartOptions {
  clock?: Clock;
  logger?: Logger;
  /** How often background jobs run (ms); 0 disables the timer (tests drive runJobsOnce). */
  jobIntervalMs?: number;
}

const systemClock: Clock = { now: () => new Date() };

export async function startKeyhold(
  config: Readonly<Config>,
  opts: StartOptions = {},
): Promise<KeyholdNode> {
  const clock = opts.clock ?? systemClock;
  const logger = opts.logger ?? pino({ level: config.logLevel });
  const dir = ensurePrivateDataDir(config.dataDir);
  if (dir.tightenedFrom !== undefined)
    logger.warn(
      { dataDir: config.dataDir },
      `data directory was ${octal(dir.tightenedFrom)}; tightened to 0700`,
    );
  const node = await openNodeStorage(config);
  let auditRepo: (AuditRepository & { close(): Promise<void> }) | undefined;
  try {
    const root = await node.loadRootKey(config.rootPassphrase);
    const auditKey = derivePurposeKey(root.key, 'audit-chain');
    // Read before the first domain key exists: an empty audit log is then no loss.
    const hadHistory = await node.auditAnchors.hasHistory();
    if (node.kind === 'sqlite' && !hadHistory) await anchorFirstStart(node, auditKey.bytes);
    const softwareHsm = new SoftwareHsm(
      derivePurposeKey(root.key, 'domain-key-wrap'),
      derivePurposeKey(root.key, 'secret-seal'),
    );
    // hsm/ throws its own HsmError: everything above it sees the AWS errors (kms/crypto/hsm-errors.ts).
    const hsm = withAwsErrors(softwareHsm);
    // Refuses a root key that does not unwrap the stored domain keys (RootKeyMismatchError).
    const domainKeys = await node.bootstrap(() => DomainKeys.open(node.storage, hsm, clock.now()));
    if (root.upgrade !== undefined) {
      // The root key just unwrapped the domain keys: safe to re-wrap it under stronger scrypt.
      const kdf = await root.upgrade();
      logger.info({ kdf }, 'root key passphrase wrapping upgraded');
    }
    // Another node rotated the domain key: load it before it is needed.
    node.onInvalidate((m) => {
      if (m.kind === 'domain-keys' || m.kind === 'all')
        domainKeys
          .reload()
          .catch((err: unknown) => logger.error({ err }, 'domain key reload failed'));
    });
    // Another node or worker may have rotated the domain key under a version read here.
    const storage =
      node.kind === 'postgres' || config.workerId !== undefined
        ? withDomainKeysLoaded(node.storage, domainKeys)
        : node.storage;
    root.key.zeroize();
    auditRepo = node.openAudit();
    const audit = await AuditLog.open(auditRepo, auditKey.bytes, {
      maxBatch: config.auditMaxBatch,
      anchor: {
        store: node.auditAnchors,
        chainId: node.nodeId,
        hasHistory: hadHistory,
        reset: config.auditReset
          ? { region: config.region, accountId: config.accountId }
          : undefined,
      },
      onBackgroundError: (err) => logger.error({ err }, 'audit background write failed'),
    });
    const usage = new KeyUsageTracker(storage, opts.jobIntervalMs === 0 ? 0 : 1000);
    const replicas = new ReplicaCreation(storage, config.replicaCreationMs, (err: unknown) =>
      logger.error({ err }, 'finishing a replica key failed; the background job retries'),
    );
    const services: Services = { storage, hsm, clock, regions: config.regions, usage, replicas };
    const customKeyStores = setupCustomKeyStores(config, storage, hsm, clock, logger);
    services.customKeyStores = customKeyStores;
    customKeyStores.bind(services);
    const authenticator = new Authenticator(
      storage,
      hsm,
      {
        regions: config.regions,
        maxSkewSeconds: config.maxSkewSeconds,
        now: () => clock.now(),
        invalidations: node.invalidations,
      },
      storage.iam,
    );
    node.onInvalidate((m) => {
      if (m.kind === 'access-key') authenticator.forget(m.accessKeyId);
      else if (m.kind === 'all' || m.kind === 'iam') authenticator.forgetAll();
    });
    const generatedCredentials = await node.bootstrap(() =>
      bootstrapCredentials(config, storage, authenticator, clock),
    );
    const identities = new IdentityService(storage, authenticator, clock);
    await identities.ensureAccount(config.accountId);
    // The seed file is applied once per start of the node: by worker 1 (the others start
    // after it is listening, and would only race it).
    if (config.seedFile !== undefined && (config.workerId ?? 1) === 1) {
      await loadSeedFile(config.seedFile, { identities, authenticator, storage, clock });
      await applySeedKeys(config.seedFile, services, config.region);
    }
    const jobs: JobDeps = {
      storage,
      hsm,
      domainKeys,
      clock,
      domainKeyRotationHours: config.domainKeyRotationHours,
      customKeyStores,
      replicaCreationMs: config.replicaCreationMs,
    };
    const runJobs = () => node.runExclusive(() => runJobsOnce(jobs));
    await runJobs();
    let closing = false;
    let closed: Promise<void> | undefined;
    const readiness = async () =>
      closing
        ? { ok: false, checks: { node: 'shutting down' } }
        : node.ready(auditRepo as AuditRepository);
    await customKeyStores.resume();

    const deps: PipelineDeps = { config, services, authenticator, audit, logger };
    // One request limiter per node, on the node's clock (docs/operations.md, "Request quotas").
    const quotas = config.quotas
      ? new RequestQuotas({
          scale: config.quotaScale,
          rps: config.quotaRps,
          now: () => clock.now().getTime(),
        })
      : null;
    const api = createApiPipeline(deps, {
      routes: [stsCodec({ services }), adminCodec({ identities, audit, services })],
      fallback: kmsCodec({ services, quotas }),
    });
    const server = createGuardedServer(config.http, (req, res, expectsContinue) => {
      if (req.method === 'GET' && serveHealth(req, res, readiness)) return;
      if (isConsoleRequest(req)) {
        void serveConsole(req, res, undefined, { regions: config.regions });
        return;
      }
      void api.handle(req, res, expectsContinue);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => resolve());
    });
    let metrics: MetricsListener | undefined;
    try {
      // Workers hand their registry to the primary, which serves all of them on one listener.
      if (config.workerId !== undefined) answerClusterMetrics();
      else if (config.metrics)
        metrics = await startMetricsListener(config.metricsHost, config.metricsPort);
    } catch (err) {
      await closeServer(server);
      throw err;
    }
    const port = (server.address() as AddressInfo).port;
    const timer = startJobTimer(runJobs, logger, opts.jobIntervalMs ?? 60_000);
    logger.info(
      { port, metrics: metrics?.url, dataDir: config.dataDir, region: config.region },
      'keyhold listening',
    );
    return {
      url: `http://${config.host}:${port}`,
      port,
      metricsUrl: metrics?.url,
      generatedCredentials,
      rootKeyCreated: root.created,
      services,
      jobs,
      nodeId: node.nodeId,
      runJobs,
      handleApi: (req, res) => api.handle(req, res, false),
      requestDeps: deps,
      // Idempotent: a second close() (a test's stop() and its after hook) waits for the first.
      close: () =>
        (closed ??= (async () => {
          closing = true;
          if (timer !== undefined) clearInterval(timer);
          await closeServer(server);
          await metrics?.close();
          await customKeyStores.close();
          await replicas.close();
          await usage.close();
          await audit.close();
          await auditRepo?.close();
          await node.close();
          softwareHsm.clearCache();
        })()),
    };
  } catch (err) {
    await auditRepo?.close();
    await node.close();
    throw err;
  }
}

/**
 * A new SQLite data dir: anchor the empty chain before anything else is written, so that a
 * crash between the first domain key and the first anchor update never looks like a deleted
 * log. (PostgreSQL chains are anchored when their log opens: a store with history there
 * does not make a new node's empty chain suspect.)
 */
async function anchorFirstStart(node: NodeStorage, auditKey: Buffer): Promise<void> {
  if ((await node.auditAnchors.getAnchor(node.nodeId)) !== undefined) return;
  await node.auditAnchors.putAnchor(node.nodeId, genesisAnchor(auditKey, node.nodeId));
}

/** The account's administrator key pair: from the environment, or generated on first start. */
async function bootstrapCredentials(
  config: Readonly<Config>,
  storage: Storage,
  authenticator: Authenticator,
  clock: Clock,
): Promise<{ accessKeyId: string; secretAccessKey: string } | undefined> {
  const admin = rootArn(config.accountId);
  if (config.bootstrapAccessKeyId !== undefined && config.bootstrapSecretAccessKey !== undefined) {
    await authenticator.putAccessKey(
      config.bootstrapAccessKeyId,
      config.bootstrapSecretAccessKey,
      admin,
      clock.now(),
    );
    return undefined;
  }
  if ((await storage.listAccessKeys(config.accountId)).length > 0) return undefined;
  const pair = Authenticator.generateKeyPair();
  await authenticator.putAccessKey(pair.accessKeyId, pair.secretAccessKey, admin, clock.now());
  return pair;
}

function startJobTimer(
  runJobs: () => Promise<boolean>,
  logger: Logger,
  intervalMs: number,
): NodeJS.Timeout | undefined {
  if (intervalMs <= 0) return undefined;
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    runJobs()
      .catch((err: unknown) => logger.error({ err }, 'background job failed'))
      .finally(() => (running = false));
  }, intervalMs);
  timer.unref();
  return timer;
}

/**
 * Stop accepting, let in-flight requests finish, and drop keep-alive sockets as soon as
 * they fall idle (a client would otherwise hold them open until its own timeout).
 */
function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    const sweep = setInterval(() => server.closeIdleConnections(), 20);
    const force = setTimeout(() => server.closeAllConnections(), 10_000);
    server.close(() => {
      clearInterval(sweep);
      clearTimeout(force);
      resolve();
    });
    server.closeIdleConnections();
  });
}
