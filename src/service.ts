/**
 * Starts certdesk: opens the data folder and database, the key vault and the
 * CA, wires the registration authority, the background schedule and the HTTP
 * server. On first start it creates the CA hierarchy and the admin account.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildServer } from './api/server.js';
import { CertdeskError } from './errors.js';
import { CertificateAuthority } from './ca/authority.js';
import { KeyVault } from './ca/key_vault.js';
import { type Clock, systemClock } from './clock.js';
import { every, type PeriodicJob } from './jobs/scheduler.js';
import { createLogger, type Logger } from './log.js';
import { createMailer, type Mailer } from './notify/mailer.js';
import { packageVersion } from './package_root.js';
import { addUser } from './ra/accounts.js';
import type { RaContext } from './ra/context.js';
import { runDueChecks } from './ra/dcv.js';
import { KeyedMutex } from './ra/keyed_mutex.js';
import { TokenActors } from './ra/token_actors.js';
import { randomSecret } from './ra/passwords.js';
import { type Settings, SettingsStore } from './ra/settings.js';
import { openDatabase, type OpenedDatabase } from './store/database.js';
import type { Durability } from './store/group_commit_sqlite.js';
import { databaseOutbox } from './store/outbox.js';
import { createDnsClient, type DnsClient } from './va/dns_client.js';

export interface ServiceOptions {
  dataDir: string;
  databaseUrl?: string;
  host: string;
  port: number;
  publicUrl?: string;
  dcvHttpPort?: number;
  dcvTlsPort?: number;
  caKeyAlgorithm?: 'ecdsa' | 'rsa';
  caName?: string;
  adminEmail?: string;
  /** How often the background schedule looks for due domain checks. */
  dcvIntervalMs?: number;
  settingsOverrides?: Partial<Settings>;
  clock?: Clock;
  logger?: Logger;
}

export interface RunningService {
  ctx: RaContext;
  app: FastifyInstance;
  url: string;
  firstStart: { adminEmail: string; adminPassword: string } | null;
  stop(): Promise<void>;
}

/** Builds the RA context for a data folder; the CLI's offline commands use it without the HTTP server. */
export async function openContext(options: ServiceOptions): Promise<{ ctx: RaContext; db: OpenedDatabase; caCreated: boolean }> {
  makeDataFolder(options.dataDir);
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? createLogger();
  const db = await openDatabase({ dataDir: options.dataDir, logger, ...(options.databaseUrl ? { databaseUrl: options.databaseUrl } : {}) });
  const { vault } = KeyVault.openOrCreate(options.dataDir);
  const settings = new SettingsStore(db.db, options.settingsOverrides ?? {});
  await settings.load();
  const publicUrl = (options.publicUrl ?? `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${options.port}`).replace(/\/+$/, '');
  const { ca, created } = await CertificateAuthority.open(db.db, vault, clock, { publicUrl, keyAlgorithm: options.caKeyAlgorithm ?? 'ecdsa', name: options.caName ?? 'certdesk' });
  const outbox = databaseOutbox(db.db, clock);
  let dns: { key: string; client: DnsClient } | null = null;
  let mailer: { key: string; mailer: Mailer } | null = null;
  const ctx: RaContext = {
    db: db.db,
    durability: db.durability,
    pipeline: db.pipeline,
    clock,
    vault,
    ca,
    logger,
    settings,
    publicUrl,
    dcvHttpPort: options.dcvHttpPort ?? 80,
    dcvTlsPort: options.dcvTlsPort ?? 443,
    locks: new KeyedMutex(),
    tokenActors: new TokenActors(clock),
    // Rebuilt only when an admin changes the settings behind them.
    dns() {
      const servers = settings.current().dnsResolvers;
      const key = servers.join(',');
      if (!dns || dns.key !== key) dns = { key, client: createDnsClient({ servers }) };
      return dns.client;
    },
    mailer() {
      const { smtpUrl, mailFrom } = settings.current();
      const key = `${smtpUrl}|${mailFrom}`;
      if (!mailer || mailer.key !== key) {
        const created = createMailer({ ...(smtpUrl ? { smtpUrl } : {}), from: mailFrom, outbox, logger });
        mailer = { key, mailer: smtpUrl ? afterCommit(created, db.durability) : created };
      }
      return mailer.mailer;
    },
  };
  return { ctx, db, caCreated: created };
}

/** Mail leaving over SMTP tells of writes already made; it waits until they are committed. */
function afterCommit(mailer: Mailer, durability: Durability): Mailer {
  return {
    async send(mail) {
      await durability.whenDurable();
      return mailer.send(mail);
    },
    outboxInsert: () => null,
  };
}

export async function startService(options: ServiceOptions): Promise<RunningService> {
  const { ctx, db } = await openContext(options);
  let firstStart: RunningService['firstStart'] = null;
  const anyUser = await ctx.db.selectFrom('users').select('id').limit(1).executeTakeFirst();
  if (!anyUser) {
    const adminEmail = options.adminEmail ?? 'admin@certdesk.local';
    const adminPassword = randomSecret(12);
    await addUser(ctx, { email: adminEmail, role: 'admin', password: adminPassword });
    firstStart = { adminEmail, adminPassword };
  }
  const app = await buildServer(ctx, { version: packageVersion() });
  try {
    await app.listen({ host: options.host, port: options.port });
  } catch (error) {
    await app.close();
    await db.close();
    throw listenFailed(options.host, options.port, error);
  }
  const job: PeriodicJob = every(options.dcvIntervalMs ?? 15_000, 'dcv-recheck', ctx.logger, () => runDueChecks(ctx));
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const url = `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`;
  return {
    ctx,
    app,
    url,
    firstStart,
    async stop() {
      await job.stop();
      await app.close();
      await db.close();
    },
  };
}

const LISTEN_REASONS: Record<string, string> = {
  EADDRINUSE: 'something else listens there',
  EADDRNOTAVAIL: 'this machine has no such address',
  EACCES: 'this user may not listen on that port',
  ENOTFOUND: 'the host name does not resolve',
};

function listenFailed(host: string, port: number, error: unknown): CertdeskError {
  const code = (error as { code?: unknown } | null)?.code;
  const reason = (typeof code === 'string' ? LISTEN_REASONS[code] : undefined) ?? (error instanceof Error ? error.message : String(error));
  return new CertdeskError('LISTEN_FAILED', `certdesk could not listen on ${host}:${port} (${reason}); give --listen an address of this machine and a free port.`, { status: 503 });
}

/** The data folder is made on first start; a path where it cannot be made is the operator's to fix. */
function makeDataFolder(dataDir: string): void {
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new CertdeskError('DATA_FOLDER_UNUSABLE', `${dataDir} cannot be the data folder (${reason}); give --data a folder path this user may create.`, { status: 503 });
  }
}

export function defaultDataDir(): string {
  return path.resolve('data');
}
