/**
 * Scenario 3, ACME against a peer: the same driver (acme-client), the same
 * concurrency and real http-01 on loopback, against Pebble and against
 * certdesk's /acme/directory. Both resolve the names through the same bind9
 * and fetch the challenge from the same node HTTP server. The driver runs
 * acme-client in two threads (acme_driver.ts): in one, Pebble's rate was
 * bound by that thread, not by Pebble. Each server is measured twice: with
 * acme-client as published, and with it asking for nonces by GET, so that
 * both servers' connections are kept (NONCE_METHODS).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { Agent } from 'node:https';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';
import acme from 'acme-client';
import { startBind9 } from '../test/support/bind9.js';
import { startCertdesk } from '../test/support/certdesk.js';
import { findProgram, makeTempDir, removeTempDir } from '../test/support/daemon.js';
import { freePort } from '../test/support/ports.js';
import { fmt, row, type Row } from './report.js';
import type { DriverInput, DriverMessage, ScenarioMessage } from './acme_driver.js';
import { busyShares, CpuMeter, cpuPerUnit, type CpuUse } from './cpu_meter.js';
import { pool, serverNodeArgs } from './stats.js';

const run = promisify(execFile);

export interface AcmeOptions {
  orders: number;
  concurrency: number;
  /**
   * Unmeasured orders each server gets first (default: one round at the
   * scenario's concurrency). Without them the measured orders timed
   * certdesk's JIT compilation against Pebble's compiled Go.
   */
  warmUpOrders?: number;
}

const warmUpOrders = (options: AcmeOptions) => options.warmUpOrders ?? options.concurrency;

const ZONE = 'acme.example.com';
// The same patience for both servers; acme-client's default waits 5 s before the first re-poll.
const BACKOFF = { backoffAttempts: 40, backoffMin: 20, backoffMax: 250 };

/** The http-01 responder both CAs fetch /.well-known/acme-challenge/TOKEN from. */
async function startChallengeServer(): Promise<{ server: Server; port: number; answers: Map<string, string> }> {
  const answers = new Map<string, string>();
  const server = createServer((req, res) => {
    const token = /^\/\.well-known\/acme-challenge\/([^/?]+)$/.exec(req.url ?? '')?.[1];
    const answer = token ? answers.get(token) : undefined;
    res.writeHead(answer ? 200 : 404, { 'content-type': 'text/plain' }).end(answer ?? 'not found');
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { server, port, answers };
}

type Driver = Pick<DriverInput, 'directoryUrl' | 'externalAccountBinding' | 'ca' | 'nonceBy'>;

interface Measured {
  perSecond: number;
  /** TCP connections the driver opened to the server per measured order. */
  connectionsPerOrder: number;
  /** CPU of the ACME server, of this process (acme-client and the challenge server) and of the machine while ordering. */
  cpu: CpuUse;
}

/** acme-client threads the driver runs, the orders split evenly: one per core, so no single driver thread bounds either server. */
const DRIVER_THREADS = 2;

/**
 * Runs `orders` orders through acme-client, `concurrency` at a time across
 * the driver threads, against the server process `serverPid`. Accounts, keys and
 * CSRs are made, and the warm-up orders run, before the clock starts.
 */
async function measure(driver: Driver, serverPid: number, serverIsNode: boolean, answers: Map<string, string>, prefix: string, options: AcmeOptions): Promise<Measured> {
  const threads = Math.min(DRIVER_THREADS, options.orders, options.concurrency);
  const runPrefix = `${prefix}-${driver.nonceBy.toLowerCase()}`;
  const names = Array.from({ length: options.orders }, (_, i) => `${runPrefix}-${i}.${ZONE}`);
  const warmUpNames = Array.from({ length: warmUpOrders(options) }, (_, i) => `${runPrefix}-warm-${i}.${ZONE}`);
  const workers = Array.from({ length: threads }, (_, t) => {
    const input: DriverInput = {
      ...driver,
      names: names.filter((_, i) => i % threads === t),
      warmUpNames: warmUpNames.filter((_, i) => i % threads === t),
      concurrency: Math.floor(options.concurrency / threads) + (t < options.concurrency % threads ? 1 : 0),
      backoff: BACKOFF,
    };
    return new Worker(new URL('./acme_driver.js', import.meta.url), { workerData: input });
  });
  const ready: Promise<string>[] = [];
  const done: Promise<number>[] = [];
  for (const worker of workers) {
    let onReady!: (threadStat: string) => void;
    ready.push(new Promise((resolve) => (onReady = resolve)));
    done.push(
      new Promise((resolve, reject) => {
        worker.on('error', reject);
        worker.on('exit', (code) => reject(new Error(`an acme-client thread exited with ${code} before its orders were done`)));
        worker.on('message', (message: DriverMessage) => {
          if (message.type === 'ready') onReady(message.threadStat);
          else if (message.type === 'answer') {
            answers.set(message.token, message.keyAuthorization);
            worker.postMessage({ type: 'answered', token: message.token } satisfies ScenarioMessage);
          } else if (message.type === 'forget') answers.delete(message.token);
          else if (message.type === 'done') resolve(message.connections);
          else reject(new Error(`acme-client failed: ${message.message}`));
        });
      }),
    );
  }
  try {
    // A thread that fails during setup rejects its `done` before it is ready.
    const driverThreadStats = await Promise.race([Promise.all(ready), Promise.all(done).then(() => [] as string[])]);
    const meter = new CpuMeter(serverPid, { serverIsNode, driverThreadStats });
    let connections = 0;
    await meter.measure(async () => {
      for (const worker of workers) worker.postMessage({ type: 'go' } satisfies ScenarioMessage);
      connections = (await Promise.all(done)).reduce((sum, n) => sum + n, 0);
    });
    const cpu = meter.use;
    return { perSecond: options.orders / cpu.seconds, connectionsPerOrder: connections / options.orders, cpu };
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
}

/** The CPU and connection rows of one peer's run; `handshakes` when its connections are TLS. */
function costRows(peer: string, measured: Measured, orders: number, handshakes: boolean): Row[] {
  return [
    row('3 ACME vs Pebble', `${peer}: CPU per order`, { value: cpuPerUnit(measured.cpu, orders, (n) => fmt(n, 1)) }),
    row('3 ACME vs Pebble', `${peer}: busy while ordering`, { value: busyShares(measured.cpu) }),
    row('3 ACME vs Pebble', `${peer}: connections the driver opened per order`, { value: `${fmt(measured.connectionsPerOrder, 2)}${handshakes && measured.connectionsPerOrder > 0 ? ' (each a TLS handshake)' : ''}` }),
  ];
}

async function startPebble(dnsAddress: string, httpPort: number): Promise<{ directoryUrl: string; ca: string; pid: number; stop(): Promise<void> }> {
  const pebble = findProgram('pebble');
  const dir = makeTempDir('pebble');
  await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')]);
  const port = await freePort();
  const config = {
    pebble: {
      listenAddress: `127.0.0.1:${port}`,
      managementListenAddress: `127.0.0.1:${await freePort()}`,
      certificate: join(dir, 'cert.pem'),
      privateKey: join(dir, 'key.pem'),
      httpPort,
      tlsPort: await freePort(),
      ocspResponderURL: '',
      externalAccountBindingRequired: false,
    },
  };
  writeFileSync(join(dir, 'pebble.json'), JSON.stringify(config));
  let output = '';
  const child: ChildProcess = spawn(pebble, ['-config', join(dir, 'pebble.json'), '-dnsserver', dnsAddress], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0' },
  });
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const { readFileSync } = await import('node:fs');
  const ca = readFileSync(join(dir, 'cert.pem'), 'utf8');
  const agent = new Agent({ ca });
  const directoryUrl = `https://127.0.0.1:${port}/dir`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`pebble exited with ${child.exitCode}:\n${output}`);
    try {
      await acme.axios.get(directoryUrl, { httpsAgent: agent });
      break;
    } catch {
      if (i > 200) throw new Error(`pebble did not answer in 10 s:\n${output}`);
      await sleep(50);
    }
  }
  return {
    directoryUrl,
    ca,
    pid: child.pid as number,
    async stop() {
      child.kill('SIGTERM');
      await removeTempDir(dir);
    },
  };
}

/**
 * How acme-client asks for nonces in each pair of runs: HEAD as published (the
 * target's ratio), then GET, after which Node's client keeps its connection to
 * either server (it closes one after a HEAD reply without a length, which
 * Pebble sends), so the second ratio compares the servers without Pebble's
 * TLS handshakes.
 */
const NONCE_METHODS = ['HEAD', 'GET'] as const;

export async function acmeScenario(options: AcmeOptions): Promise<Row[]> {
  // The parent zone too: certdesk climbs to example.com for CAA, which must answer (empty), not refuse.
  const dns = await startBind9({ zones: ['example.com'] });
  const challenge = await startChallengeServer();
  // Each method's Pebble rows, then its certdesk rows.
  const rowsBy = new Map<DriverInput['nonceBy'], Row[]>(NONCE_METHODS.map((nonceBy) => [nonceBy, []]));
  const label = `orders/s at concurrency ${options.concurrency} (${options.orders} orders, http-01)`;
  const peer = (server: string, nonceBy: DriverInput['nonceBy']) => (nonceBy === 'HEAD' ? server : `${server}, nonces by GET`);
  try {
    await dns.addRecord(`*.${ZONE}`, 'A', '127.0.0.1');
    const pebbleRates = new Map<DriverInput['nonceBy'], number>();
    const pebble = await startPebble(dns.address, challenge.port);
    try {
      for (const nonceBy of NONCE_METHODS) {
        const measured = await measure({ directoryUrl: pebble.directoryUrl, ca: pebble.ca, nonceBy }, pebble.pid, false, challenge.answers, 'pebble', options);
        pebbleRates.set(nonceBy, measured.perSecond);
        rowsBy.get(nonceBy)?.push(row('3 ACME vs Pebble', `${peer('Pebble', nonceBy)} ${label}`, { value: `${fmt(measured.perSecond)}/s` }), ...costRows(peer('Pebble', nonceBy), measured, options.orders, true));
      }
    } finally {
      await pebble.stop();
    }

    const service = await startCertdesk({ nodeArgs: serverNodeArgs(), resolvers: [dns.address], dcvHttpPort: challenge.port });
    try {
      await service.user('bench@example.com', 'subscriber');
      // Each ACME order consumes one DV instance the subscriber holds; granting them is setup, not measured.
      const ordersInAll = NONCE_METHODS.length * (warmUpOrders(options) + options.orders);
      const admin = await service.user('ops@example.com', 'admin');
      await pool(Array.from({ length: ordersInAll }), 8, async () => {
        const granted = await admin.post('/api/v1/instances', { owner: 'bench@example.com', product: 'dv', domainType: 'single' });
        if (granted.status !== 201) throw new Error(`granting a DV instance failed: ${JSON.stringify(granted.body)}`);
      });
      const eab = await service.cli(['acme', 'eab', 'create', '--email', 'bench@example.com']);
      const kid = /^kid: (\S+)$/m.exec(eab)?.[1];
      const hmacKey = /^hmac: (\S+)$/m.exec(eab)?.[1];
      if (!kid || !hmacKey) throw new Error(`"certdesk acme eab create" printed no kid/hmac:\n${eab}`);
      // All orders fall under example.com: the per-domain weekly limit (default 50) is raised as an operator would for a load test; it is still counted and checked.
      const limit = ordersInAll * 2;
      const limits = await admin.put('/api/v1/settings', { acmeOrdersPerDomainPerWeek: limit, acmeOrdersPerAccountPerHour: limit });
      if (limits.status !== 200) throw new Error(`raising the ACME rate limits failed: ${JSON.stringify(limits.body)}`);
      for (const nonceBy of NONCE_METHODS) {
        const measured = await measure({ directoryUrl: `${service.url}/acme/directory`, externalAccountBinding: { kid, hmacKey }, nonceBy }, service.pid, true, challenge.answers, 'certdesk', options);
        const rate = measured.perSecond;
        const pebbleRate = pebbleRates.get(nonceBy) ?? Number.NaN;
        const target = nonceBy === 'HEAD';
        rowsBy.get(nonceBy)?.push(
          row('3 ACME vs Pebble', `${peer('certdesk', nonceBy)} ${label}`, {
            value: `${fmt(rate)}/s`,
            reference: `${peer('Pebble', nonceBy)} ${fmt(pebbleRate)}/s`,
            ratio: fmt(rate / pebbleRate, 2),
            target: target ? '≥ 3' : '',
            met: target ? rate / pebbleRate >= 3 : null,
          }),
          ...costRows(peer('certdesk', nonceBy), measured, options.orders, false),
        );
      }
    } finally {
      await service.stop();
    }
  } finally {
    challenge.server.close();
    await dns.stop();
  }
  return [...rowsBy.values()].flat();
}
