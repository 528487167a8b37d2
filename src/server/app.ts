/**
 * Assembles a keyhold node: storage → root key → domain keys → HSM → authenticator →
 * audit → HTTP. `startKeyhold` returns a handle whose `close()` finishes in-flight
 * requests, flushes the audit log and closes storage.
 */
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { AuditLog } from '../audit/audit-log.js';
import { Authenticator } from '../auth/authenticator.js';
import { rootArn } from '../auth/principal.js';
import type { Config } from '../config/config.js';
import { DomainKeyring } from '../hsm/domain-keys.js';
import { derivePurposeKey, loadRootKey } from '../hsm/root-key.js';
import { SoftwareHsm } from '../hsm/software-hsm.js';
import type { Clock, Services } from '../kms/context.js';
import { runJobsOnce, type JobDeps } from '../kms/jobs.js';
import { KeyUsageTracker } from '../kms/key-usage.js';
import { handleAdminRequest, isAdminRequest } from '../iam/admin-api.js';
import { IdentityService } from '../iam/identity-service.js';
import { loadSeedFile } from '../iam/seed.js';
import { applySeedKeys } from './seed-keys.js';
import { isConsoleRequest, serveConsole } from './console-assets.js';
import { errorBody, handleKmsRequest, readBody, send } from '../protocol/handle-request.js';
import { handleStsRequest, isStsRequest } from '../sts/handler.js';
import { toKmsError } from '../protocol/errors.js';
import { withKeyCache } from '../storage/key-cache.js';
import type { Storage } from '../storage/repository.js';
import { SqliteStorage } from '../storage/sqlite/sqlite-storage.js';
import { ThreadedAuditRepository } from '../storage/sqlite/threaded-audit-repository.js';

export interface KeyholdNode {
  url: string;
  port: number;
  /** Set when this start generated the bootstrap credentials (printed once). */
  generatedCredentials?: { accessKeyId: string; secretAccessKey: string } | undefined;
  rootKeyCreated: boolean;
  services: Services;
  jobs: JobDeps;
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
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  // Every read and write of keys goes through the cache, so this node's own writes invalidate it.
  const storage = withKeyCache(new SqliteStorage(join(config.dataDir, 'keyhold.db')));
  let auditRepo: ThreadedAuditRepository | undefined;
  try {
    const root = loadRootKey({ dataDir: config.dataDir, passphrase: config.rootPassphrase });
    const ring = await DomainKeyring.open(
      storage,
      derivePurposeKey(root.key, 'domain-key-wrap'),
      clock.now(),
    );
    const hsm = new SoftwareHsm(ring, derivePurposeKey(root.key, 'secret-seal'));
    const auditKey = derivePurposeKey(root.key, 'audit-chain');
    root.key.zeroize();
    auditRepo = new ThreadedAuditRepository(join(config.dataDir, 'audit.db'));
    const audit = await AuditLog.open(auditRepo, auditKey.bytes, {
      maxBatch: config.auditMaxBatch,
    });
    const usage = new KeyUsageTracker(storage, opts.jobIntervalMs === 0 ? 0 : 1000);
    const services: Services = { storage, hsm, clock, regions: config.regions, usage };
    const authenticator = new Authenticator(
      storage,
      hsm,
      {
        regions: config.regions,
        maxSkewSeconds: config.maxSkewSeconds,
        now: () => clock.now(),
      },
      storage.iam,
    );
    const generatedCredentials = await bootstrapCredentials(config, storage, authenticator, clock);
    const identities = new IdentityService(storage, authenticator, clock);
    await identities.ensureAccount(config.accountId);
    if (config.seedFile !== undefined) {
      await loadSeedFile(config.seedFile, { identities, authenticator, storage, clock });
      await applySeedKeys(config.seedFile, services, config.region);
    }
    const jobs: JobDeps = {
      storage,
      hsm,
      ring,
      clock,
      domainKeyRotationHours: config.domainKeyRotationHours,
    };
    await runJobsOnce(jobs);

    const deps = { config, services, authenticator, audit, logger };
    const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
      if (req.method === 'GET' && (req.url === '/health' || req.url === '/ready')) {
        res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"status":"ok"}');
        return;
      }
      if (isConsoleRequest(req)) {
        void serveConsole(req, res);
        return;
      }
      readBody(req)
        .then((body) =>
          isStsRequest(req)
            ? handleStsRequest(deps, req, res, body)
            : isAdminRequest(req)
              ? handleAdminRequest(deps, identities, req, res, body)
              : handleKmsRequest(deps, req, res, body),
        )
        .catch((err: unknown) => {
          const e = toKmsError(err);
          if (!res.headersSent) send(res, e.status, '', errorBody(e));
        });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => resolve());
    });
    const port = (server.address() as AddressInfo).port;
    const timer = startJobTimer(jobs, logger, opts.jobIntervalMs ?? 60_000);
    logger.info({ port, dataDir: config.dataDir, region: config.region }, 'keyhold listening');
    return {
      url: `http://${config.host}:${port}`,
      port,
      generatedCredentials,
      rootKeyCreated: root.created,
      services,
      jobs,
      close: async () => {
        if (timer !== undefined) clearInterval(timer);
        await closeServer(server);
        await usage.close();
        await audit.close();
        await auditRepo?.close();
        await storage.close();
        hsm.clearCache();
      },
    };
  } catch (err) {
    await auditRepo?.close();
    await storage.close();
    throw err;
  }
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
  jobs: JobDeps,
  logger: Logger,
  intervalMs: number,
): NodeJS.Timeout | undefined {
  if (intervalMs <= 0) return undefined;
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    runJobsOnce(jobs)
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
