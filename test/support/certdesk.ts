/**
 * Runs the real `certdesk serve` (bin/certdesk.js) on a fresh data folder, on
 * SQLite or on a fresh PostgreSQL database, and talks to it over HTTP like any
 * client would. Users and tokens are made with the real CLI.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { httpRequest } from './http_request.js';
import { freePort } from './ports.js';

const run = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const BIN = path.join(ROOT, 'bin', 'certdesk.js');
// scripts/install-test-tools.sh writes the URL when the local server needs a password.
const PG_URL_FILE = path.join(ROOT, '.certdesk-test', 'pg-url');
const PG_ADMIN_URL = process.env.CERTDESK_TEST_PG ?? (existsSync(PG_URL_FILE) ? readFileSync(PG_URL_FILE, 'utf8').trim() : 'postgres://postgres@127.0.0.1:5432/test');

export type Backend = 'sqlite' | 'postgres';

/** The server the PostgreSQL runs make their databases on, as a URL with rights to create and drop them. */
export const pgAdminUrl = (): string => PG_ADMIN_URL;

export interface ApiResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
  bytes: Buffer;
}

export class ApiClient {
  constructor(
    readonly baseUrl: string,
    readonly token: string | null,
  ) {}

  async call<T = any>(method: string, urlPath: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse<T>> {
    const sent: Record<string, string> = { ...headers };
    if (this.token) sent.authorization = `Bearer ${this.token}`;
    let payload: Buffer | string | undefined;
    if (body instanceof FormData) {
      // Response encodes the multipart body and names its boundary.
      const encoded = new Response(body);
      sent['content-type'] = encoded.headers.get('content-type') ?? '';
      payload = Buffer.from(await encoded.arrayBuffer());
    } else if (body !== undefined) {
      sent['content-type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    const res = await httpRequest(this.baseUrl + urlPath, method, sent, payload);
    const type = res.headers.get('content-type') ?? '';
    const parsed = type.includes('json') && res.bytes.length > 0 ? JSON.parse(res.bytes.toString('utf8')) : res.bytes.toString('utf8');
    return { status: res.status, body: parsed as T, headers: res.headers, bytes: res.bytes };
  }

  get<T = any>(p: string) {
    return this.call<T>('GET', p);
  }
  post<T = any>(p: string, body?: unknown) {
    return this.call<T>('POST', p, body ?? {});
  }
  put<T = any>(p: string, body: unknown) {
    return this.call<T>('PUT', p, body);
  }
}

export interface CertdeskProcess {
  url: string;
  port: number;
  /** The server's process id (benchmarks read its memory from /proc). */
  pid: number;
  /** Milliseconds from spawning the process to the first 200 from /healthz. */
  readyMs: number;
  dataDir: string;
  databaseUrl: string | undefined;
  output(): string;
  /** The exit code once the process has ended; null while it runs. */
  exitCode(): number | null;
  /** Runs one statement (`?` placeholders) on the service's own database, to leave rows as a stopped server or an operator would. */
  sql(text: string, parameters: unknown[]): Promise<void>;
  cli(args: string[]): Promise<string>;
  /** Adds a user with the CLI and returns an API client holding its token. */
  user(email: string, role: 'subscriber' | 'reviewer' | 'admin'): Promise<ApiClient>;
  anonymous(): ApiClient;
  stop(): Promise<void>;
}

/** Is a PostgreSQL server reachable for the tests? */
/** Runs the certdesk CLI as a user would and reports how it ended instead of throwing on a non-zero exit. */
export async function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: unknown; stdout?: string; stderr?: string };
    return { code: typeof failed.code === 'number' ? failed.code : -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

export async function postgresAvailable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.end();
    return true;
  } catch {
    return false;
  }
}

/** A fresh, empty PostgreSQL database for one test; `drop` removes it. */
export async function createPgDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `certdesk_test_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

export async function startCertdesk(
  options: { backend?: Backend; resolvers?: string[]; dcvHttpPort?: number; smtpUrl?: string; extraArgs?: string[]; /** Options for node itself, e.g. --cpu-prof. */ nodeArgs?: string[]; /** Restart on an existing data folder, kept on stop. */ dataDir?: string } = {},
): Promise<CertdeskProcess> {
  const dataDir = options.dataDir ?? mkdtempSync(path.join(tmpdir(), 'certdesk-test-'));
  const pgDb = options.backend === 'postgres' ? await createPgDatabase() : null;
  const port = await freePort();
  const dataArgs = ['--data', dataDir, ...(pgDb ? ['--database', pgDb.url] : [])];
  const args = [
    ...(options.nodeArgs ?? []),
    BIN,
    'serve',
    ...dataArgs,
    '--listen',
    `127.0.0.1:${port}`,
    ...(options.resolvers ?? []).flatMap((r) => ['--dns-resolver', r]),
    ...(options.dcvHttpPort ? ['--dcv-http-port', String(options.dcvHttpPort)] : []),
    ...(options.smtpUrl ? ['--smtp-url', options.smtpUrl] : []),
    ...(options.extraArgs ?? []),
  ];
  let output = '';
  const spawnedAt = performance.now();
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CERTDESK_LOG_LEVEL: 'warn' } });
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`certdesk serve exited with ${child.exitCode}:\n${output}`);
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`certdesk serve did not become ready in 30 s:\n${output}`);
    }
    // Short polls keep readyMs within a few milliseconds of the real start time.
    await sleep(10);
  }
  const readyMs = performance.now() - spawnedAt;
  const cli = async (cliArgs: string[]) => {
    const { stdout } = await run(process.execPath, [BIN, ...cliArgs, ...dataArgs]);
    return stdout;
  };
  return {
    url,
    port,
    pid: child.pid ?? 0,
    readyMs,
    dataDir,
    databaseUrl: pgDb?.url,
    output: () => output,
    exitCode: () => child.exitCode,
    async sql(text, parameters) {
      if (pgDb) {
        let n = 0;
        const client = new pg.Client({ connectionString: pgDb.url });
        await client.connect();
        await client.query(text.replace(/\?/g, () => `$${++n}`), parameters).finally(() => client.end());
        return;
      }
      const sqlite = new SQLite(path.join(dataDir, 'certdesk.db'), { timeout: 5000 });
      try {
        sqlite.prepare(text).run(...parameters);
      } finally {
        sqlite.close();
      }
    },
    cli,
    async user(email, role) {
      await cli(['user', 'add', '--email', email, '--role', role]);
      const out = await cli(['token', 'create', '--email', email]);
      const token = out.trim().split('\n').pop() ?? '';
      return new ApiClient(url, token);
    },
    anonymous: () => new ApiClient(url, null),
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await Promise.race([exited, sleep(5000)]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      await pgDb?.drop();
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * The database backends an integration test runs on: SQLite always, and
 * PostgreSQL when reachable. Under CI=true a missing PostgreSQL fails the run.
 */
export async function backends(): Promise<Backend[]> {
  if (await postgresAvailable()) return ['sqlite', 'postgres'];
  const message = `PostgreSQL is not reachable at ${PG_ADMIN_URL}; the PostgreSQL run of the integration tests is skipped`;
  if (process.env.CI === 'true') throw new Error(message);
  console.error(`SKIPPED: ${message}`);
  return ['sqlite'];
}
