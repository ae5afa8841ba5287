/**
 * Scenario 2, end-to-end DV issuance over REST on a real `certdesk serve`:
 * create instance → application (manual CSR, keys made beforehand) → submit →
 * verify (TXT records served by bind9 on loopback) → issued → download, at
 * several concurrencies, on SQLite and PostgreSQL; each rate is set against
 * bare HTTP round trips measured in the same run (`httpFloor`). The two
 * backends' servers run side by side and take turns at each concurrency, so
 * their ratio does not move with the shared machine's speed.
 */
import assert from 'node:assert/strict';
import { startBind9, type Bind9Server } from '../test/support/bind9.js';
import { postgresAvailable, startCertdesk, type ApiClient, type Backend, type CertdeskProcess } from '../test/support/certdesk.js';
import { contact } from '../test/support/flows.js';
import { createCsr } from '../src/pki/csr.js';
import { generateKeyPair } from '../src/pki/keys.js';
import { fmt, row, type Row } from './report.js';
import { busyShares, CpuMeter, cpuPerUnit } from './cpu_meter.js';
import { pool, Samples, serverNodeArgs } from './stats.js';

export interface DvRestOptions {
  /** Certificates issued at each concurrency. */
  certificates: Record<number, number>;
  backends?: Backend[];
  /** How long each of the three windows of the HTTP floor lasts (default 1 s). */
  floorWindowMs?: number;
  /** Certificates issued unmeasured at the top concurrency before the first measured one (default: the top concurrency). */
  warmUpCertificates?: number;
}

const TARGET_PER_SECOND = 1000;
const STEPS = ['create', 'application', 'submit', 'verify', 'download'] as const;

interface Pending {
  name: string;
  csr: string;
  id?: string;
  txt?: { name: string; value: string };
}

/** One backend's server and the two accounts the driver uses on it. */
interface Server {
  backend: Backend;
  label: string;
  service: CertdeskProcess;
  admin: ApiClient;
  subscriber: ApiClient;
}

/** Backends take turns at each concurrency, this many times, so a drift in the shared machine's speed falls on all of them alike. */
const TURNS = 4;

/** `count` split into at most `parts` near-equal positive sizes. */
function split(count: number, parts: number): number[] {
  const n = Math.min(parts, count);
  return Array.from({ length: n }, (_, i) => Math.floor(count / n) + (i < count % n ? 1 : 0));
}

/** Issues `items` on `server` with `concurrency` requests in flight; time and CPU go to `meter`. */
async function issueAll({ admin, subscriber }: Server, meter: CpuMeter, dns: Bind9Server, items: Pending[], concurrency: number, samples: Samples): Promise<void> {
  // Waves: everything before verify, one DNS update for the wave, then verify and download.
  const waveSize = Math.max(concurrency * 4, 64);
  // Time and CPU are counted over the same windows, so the DNS updates between them are left out of both.
  for (let start = 0; start < items.length; start += waveSize) {
    const wave = items.slice(start, start + waveSize);
    await meter.measure(() => pool(wave, concurrency, async (item) => {
      const created = await samples.time('create', () => admin.post('/api/v1/instances', { owner: 'bench@example.com', product: 'dv', domainType: 'single' }));
      assert.equal(created.status, 201, JSON.stringify(created.body));
      item.id = created.body.id as string;
      const saved = await samples.time('application', () => subscriber.put(`/api/v1/instances/${item.id}/application`, { domains: [item.name], csr: { mode: 'manual', pem: item.csr }, contact }));
      assert.equal(saved.status, 200, JSON.stringify(saved.body));
      const submitted = await samples.time('submit', () => subscriber.post(`/api/v1/instances/${item.id}/submit`));
      assert.equal(submitted.status, 200, JSON.stringify(submitted.body));
      item.txt = submitted.body.validation[0].dns as { name: string; value: string };
    }));
    await dns.addRecords(wave.map((item) => ({ name: item.txt?.name ?? '', type: 'TXT' as const, value: item.txt?.value ?? '' })));
    await meter.measure(() => pool(wave, concurrency, async (item) => {
      const verified = await samples.time('verify', () => subscriber.post(`/api/v1/instances/${item.id}/verify`));
      // The background schedule may re-check the published record and issue first; then "verify" is refused as such.
      const issuedBySchedule = verified.status === 409 && verified.body?.error?.details?.status === 'issued';
      if (!issuedBySchedule) assert.equal(verified.body.status, 'issued', JSON.stringify(verified.body));
      const zip = await samples.time('download', () => subscriber.call('GET', `/api/v1/instances/${item.id}/download?server=nginx`));
      assert.equal(zip.status, 200);
      assert.equal(zip.headers.get('content-type'), 'application/zip');
    }));
  }
}

/**
 * The reference measured in the same run: the same driver, connections and
 * concurrency, and a certificate's five requests, each answered by /healthz
 * (authenticated like the others, no work behind it). Certificates per second
 * over this floor is the share of the bare HTTP round trips' rate certdesk
 * keeps. The best of three windows is taken, so the work the server finishes
 * after the issuing (and the run's noise) lowers the floor as little as it can.
 */
async function httpFloor(subscriber: ApiClient, concurrency: number, windowMs: number): Promise<number> {
  let best = 0;
  for (let window = 0; window < 3; window++) {
    const started = performance.now();
    let certificates = 0;
    await pool(Array.from({ length: concurrency }), concurrency, async () => {
      while (performance.now() - started < windowMs) {
        for (let step = 0; step < STEPS.length; step++) assert.equal((await subscriber.get('/healthz')).status, 200);
        certificates += 1;
      }
    });
    best = Math.max(best, certificates / ((performance.now() - started) / 1000));
  }
  return best;
}

function makeRequests(prefix: string, count: number): Pending[] {
  return Array.from({ length: count }, (_, i) => {
    const name = `${prefix}-${i}.example.com`;
    return { name, csr: createCsr(generateKeyPair('ecdsa-p256').privateKeyPem, [name]) };
  });
}

export async function dvRestScenario(options: DvRestOptions): Promise<Row[]> {
  const postgresReachable = options.backends ? null : await postgresAvailable();
  const backends = options.backends ?? (postgresReachable ? ['sqlite', 'postgres'] : ['sqlite']);
  const rowsOf = new Map<Backend, Row[]>(backends.map((backend) => [backend, []]));
  const rates = new Map<string, number>();
  const top = Math.max(...Object.keys(options.certificates).map(Number));
  const dns = await startBind9({ zones: ['example.com'] });
  const started: CertdeskProcess[] = [];
  const servers: Server[] = [];
  try {
    for (const backend of backends) {
      const service = await startCertdesk({ nodeArgs: serverNodeArgs(), backend, resolvers: [dns.address] });
      started.push(service);
      servers.push({ backend, label: backend === 'sqlite' ? 'SQLite' : 'PostgreSQL', service, admin: await service.user('ops@example.com', 'admin'), subscriber: await service.user('bench@example.com', 'subscriber') });
    }
    // Unmeasured issuing at the top concurrency: it opens the driver's connections (without it, the first 64 creates at
    // concurrency 64 took up to 0.7 s while 60 new connections were set up) and lets V8 optimize the hot paths.
    for (const server of servers) {
      await issueAll(server, new CpuMeter(server.service.pid), dns, makeRequests(`${server.backend}-warm`, options.warmUpCertificates ?? top), top, new Samples());
    }
    for (const [c, count] of Object.entries(options.certificates).map(([c, n]) => [Number(c), n] as const)) {
      const runs = servers.map((server) => ({ server, meter: new CpuMeter(server.service.pid), samples: new Samples() }));
      for (const [turn, size] of split(count, TURNS).entries()) {
        for (const { server, meter, samples } of runs) await issueAll(server, meter, dns, makeRequests(`${server.backend}-c${c}-${turn}`, size), c, samples);
      }
      for (const { server, meter, samples } of runs) {
        const worked = meter.use;
        const rate = count / worked.seconds;
        const floor = await httpFloor(server.subscriber, c, options.floorWindowMs ?? 1000);
        rates.set(`${server.backend}:${c}`, rate);
        const sqliteTop = c === top && server.backend === 'sqlite';
        rowsOf.get(server.backend)?.push(
          row('2 DV over REST', `${server.label}, concurrency ${c}: issued certs/s (${count} certs)`, {
            value: `${fmt(rate)}/s`,
            reference: `HTTP floor ${fmt(floor)}/s (${STEPS.length} × GET /healthz per certificate)`,
            ratio: fmt(rate / floor, 3),
            target: sqliteTop ? `≥ ${TARGET_PER_SECOND}/s` : '',
            met: sqliteTop ? rate >= TARGET_PER_SECOND : null,
          }),
          row('2 DV over REST', `${server.label}, concurrency ${c}: p50 / p99 ms per step`, {
            value: STEPS.map((s) => `${s} ${fmt(samples.percentile(s, 50), 1)} / ${fmt(samples.percentile(s, 99), 1)}`).join(' · '),
          }),
          row('2 DV over REST', `${server.label}, concurrency ${c}: CPU per certificate`, { value: cpuPerUnit(worked, count, (n) => fmt(n, 1)) }),
          row('2 DV over REST', `${server.label}, concurrency ${c}: busy while issuing`, { value: busyShares(worked) }),
        );
      }
    }
  } finally {
    for (const service of started) await service.stop();
    await dns.stop();
  }
  const rows = [...rowsOf.values()].flat();
  const sqlite = rates.get(`sqlite:${top}`);
  const postgres = rates.get(`postgres:${top}`);
  if (sqlite && postgres) {
    rows.push(
      row('2 DV over REST', `PostgreSQL vs SQLite at concurrency ${top}`, {
        value: `${fmt(postgres)}/s`,
        reference: `SQLite ${fmt(sqlite)}/s`,
        ratio: fmt(postgres / sqlite, 2),
        target: '≥ 0.5 (within 2×)',
        met: postgres / sqlite >= 0.5,
      }),
    );
  } else if (postgresReachable === false) {
    rows.push(row('2 DV over REST', 'PostgreSQL', { value: 'PostgreSQL not reachable on 127.0.0.1:5432; not measured' }));
  }
  return rows;
}
