import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './ports.js';

/**
 * Shared plumbing of the server harnesses (bind9, nginx): find the program,
 * run it in the foreground inside a private temp dir, wait until it answers,
 * and make sure neither the process nor the dir outlives the test process.
 */

/** The absolute path of `program` on PATH or in the sbin dirs; a clear error when it is not installed. */
export function findProgram(program: string): string {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin'];
  for (const dir of dirs.filter(Boolean)) {
    const candidate = join(dir, program);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this dir
    }
  }
  throw new Error(`"${program}" is not installed (looked in PATH and the sbin dirs); run scripts/install-test-tools.sh`);
}

const running = new Set<ChildProcess>();
const tempDirs = new Set<string>();
let cleanupInstalled = false;

/** Kills leftover servers and removes their dirs when the test process ends, even on Ctrl-C or a runner timeout. */
function installCleanup(): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  const cleanup = () => {
    for (const child of running) child.kill('SIGKILL');
    for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  };
  process.on('exit', cleanup);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      cleanup();
      process.kill(process.pid, signal);
    });
  }
}

/** A private temp dir removed by `removeTempDir` or, at the latest, when the process exits. */
export function makeTempDir(prefix: string): string {
  installCleanup();
  const dir = mkdtempSync(join(tmpdir(), `certdesk-${prefix}-`));
  tempDirs.add(dir);
  return dir;
}

export async function removeTempDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

export interface Daemon {
  /** stdout and stderr so far, for error messages. */
  output(): string;
  stop(): Promise<void>;
}

export interface DaemonSpec {
  name: string;
  program: string;
  args: string[];
  cwd: string;
  /** Resolves true once the server answers; polled until `startTimeoutMs`. */
  ready: () => Promise<boolean>;
  startTimeoutMs?: number;
}

const MAX_OUTPUT = 32 * 1024;

/** Starts a foreground server and resolves once `ready()` says it answers; rejects with its output if it exits or never answers. */
export async function startDaemon(spec: DaemonSpec): Promise<Daemon> {
  installCleanup();
  const child = spawn(spec.program, spec.args, { cwd: spec.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let output = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-MAX_OUTPUT);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  // A test that forgets stop() must not hang: the server does not keep the
  // test process alive, and the exit hook kills it.
  child.unref();
  for (const stream of [child.stdout, child.stderr]) (stream as unknown as { unref?: () => void } | null)?.unref?.();
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', (error) => {
      collect(Buffer.from(String(error)));
      resolve();
    });
  });
  exited.then(() => running.delete(child));
  const hasExited = () => child.exitCode !== null || child.signalCode !== null || !running.has(child);

  const stop = async () => {
    if (hasExited()) return;
    child.kill('SIGTERM');
    const escalate = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(escalate);
  };

  const deadline = Date.now() + (spec.startTimeoutMs ?? 10_000);
  while (Date.now() < deadline) {
    if (hasExited()) throw new Error(`${spec.name} exited during startup:\n${output}`);
    if (await spec.ready().catch(() => false)) return { output: () => output, stop };
    await sleep(25);
  }
  await stop();
  throw new Error(`${spec.name} did not answer within ${spec.startTimeoutMs ?? 10_000} ms:\n${output}`);
}

/** Starts a server on a free port, picking another port when the chosen one was taken in between. */
export async function startOnFreePort(start: (port: number) => Promise<Daemon>): Promise<{ daemon: Daemon; port: number }> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      return { daemon: await start(port), port };
    } catch (error) {
      if (attempt >= 5 || !/address (already )?in use/i.test(String(error))) throw error;
    }
  }
}
