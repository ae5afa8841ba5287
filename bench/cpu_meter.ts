/**
 * Where a scenario's CPU goes, read from /proc (Linux) over the windows it
 * measures: the server process and its JavaScript thread, this process (the
 * driver) and its JavaScript thread, and the whole machine. A JavaScript
 * thread busy near 100 % bounds the rate by itself, whatever cores are left;
 * the machine near 100 % means the cores are the bound.
 */
import { readFile } from 'node:fs/promises';

/** Clock ticks per second of /proc's CPU counters (USER_HZ, 100 on Linux). */
const TICKS = 100;

/** utime + stime of a process, or of one of its threads, in seconds. */
async function procCpuSeconds(statPath: string): Promise<number> {
  const stat = await readFile(statPath, 'utf8');
  // The fields after the parenthesised command name; utime and stime are the 14th and 15th fields of the line.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS;
}

/** CPU seconds (user + system) a process, all its threads together, has used so far. */
export const cpuSeconds = (pid: number): Promise<number> => procCpuSeconds(`/proc/${pid}/stat`);

/** The counters of a Node process's main thread, the one that runs its JavaScript (its thread id is the process id). */
const mainThreadStat = (pid: number): string => `/proc/${pid}/task/${pid}/stat`;

/** Busy and total ticks of all cores together, from the first line of /proc/stat. */
async function machineTicks(): Promise<{ busy: number; total: number }> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n', 1)[0] as string;
  const ticks = line.trim().split(/\s+/).slice(1).map(Number);
  const total = ticks.slice(0, 8).reduce((a, b) => a + b, 0);
  // idle and iowait are the 4th and 5th counters; guest time is already inside user.
  return { busy: total - (ticks[3] ?? 0) - (ticks[4] ?? 0), total };
}

interface Reading {
  at: number;
  server: number;
  serverThread: number;
  driver: number;
  driverThreads: number[];
  machine: { busy: number; total: number };
}

async function read(serverPid: number, serverIsNode: boolean, driverThreadStats: string[]): Promise<Reading> {
  const [server, serverThread, machine, ...driverThreads] = await Promise.all([
    cpuSeconds(serverPid),
    serverIsNode ? procCpuSeconds(mainThreadStat(serverPid)) : Number.NaN,
    machineTicks(),
    ...driverThreadStats.map(procCpuSeconds),
  ]);
  const own = process.cpuUsage();
  return { at: performance.now(), server, serverThread, driver: (own.user + own.system) / 1e6, driverThreads, machine };
}

/** CPU spent over the measured windows, in seconds, and their length. */
export interface CpuUse {
  seconds: number;
  server: number;
  serverThread: number;
  driver: number;
  /** Per JavaScript thread of the driver: its main thread, or the threads running acme-client. */
  driverThreads: number[];
  /** Busy core-seconds of the whole machine, and their share of all cores, 0..1. */
  machine: number;
  machineBusy: number;
}

/**
 * Accumulates CPU over the windows `measure` runs, against the server process
 * `serverPid`; a server that is not Node (Pebble) has no JavaScript thread to read.
 */
export class CpuMeter {
  readonly #serverPid: number;
  readonly #serverIsNode: boolean;
  readonly #driverThreadStats: string[];
  #use: CpuUse;
  #machineBusyTicks = 0;
  #machineTicks = 0;

  /** `driverThreadStats`: /proc stat files of the driver's JavaScript threads; its main thread by default. */
  constructor(serverPid: number, { serverIsNode = true, driverThreadStats = [mainThreadStat(process.pid)] } = {}) {
    this.#serverPid = serverPid;
    this.#serverIsNode = serverIsNode;
    this.#driverThreadStats = driverThreadStats;
    this.#use = { seconds: 0, server: 0, serverThread: 0, driver: 0, driverThreads: driverThreadStats.map(() => 0), machine: 0, machineBusy: 0 };
  }

  async measure<T>(work: () => Promise<T>): Promise<T> {
    const before = await read(this.#serverPid, this.#serverIsNode, this.#driverThreadStats);
    const result = await work();
    const after = await read(this.#serverPid, this.#serverIsNode, this.#driverThreadStats);
    const u = this.#use;
    u.seconds += (after.at - before.at) / 1000;
    u.server += after.server - before.server;
    u.serverThread += after.serverThread - before.serverThread;
    u.driver += after.driver - before.driver;
    u.driverThreads = u.driverThreads.map((used, i) => used + (after.driverThreads[i] ?? 0) - (before.driverThreads[i] ?? 0));
    this.#machineBusyTicks += after.machine.busy - before.machine.busy;
    this.#machineTicks += after.machine.total - before.machine.total;
    u.machine = this.#machineBusyTicks / TICKS;
    u.machineBusy = this.#machineTicks > 0 ? this.#machineBusyTicks / this.#machineTicks : Number.NaN;
    return result;
  }

  get use(): CpuUse {
    return { ...this.#use, driverThreads: [...this.#use.driverThreads] };
  }
}

const pct = (share: number): string => (Number.isFinite(share) ? `${Math.round(share * 100)} %` : 'n/a');

/** "server 3.2 ms (JavaScript thread 2.6) · driver 0.7 ms (0.6) · rest of the machine 0.9 ms" per unit of work. */
export function cpuPerUnit(use: CpuUse, units: number, digits: (n: number) => string): string {
  const ms = (s: number) => digits((s * 1000) / units);
  const rest = Math.max(0, use.machine - use.server - use.driver);
  const serverThread = Number.isFinite(use.serverThread) ? ` (JavaScript thread ${ms(use.serverThread)})` : '';
  const driverThreads = `JavaScript thread${use.driverThreads.length > 1 ? 's' : ''} ${use.driverThreads.map(ms).join(' + ')}`;
  return `server ${ms(use.server)} ms${serverThread} · driver ${ms(use.driver)} ms (${driverThreads}) · rest of the machine ${ms(rest)} ms`;
}

/** "server JavaScript thread 97 % · driver JavaScript thread 24 % · all cores 81 %" over the measured windows. */
export function busyShares(use: CpuUse): string {
  const serverThread = Number.isFinite(use.serverThread) ? `server JavaScript thread ${pct(use.serverThread / use.seconds)} · ` : '';
  const driverThreads = `driver JavaScript thread${use.driverThreads.length > 1 ? 's' : ''} ${use.driverThreads.map((t) => pct(t / use.seconds)).join(' / ')}`;
  return `${serverThread}${driverThreads} · all cores ${pct(use.machineBusy)}`;
}
