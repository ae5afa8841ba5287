/**
 * Scenario 4, reads at scale: a data folder with many instances and
 * certificates (seeded in bulk), then p50/p99 over HTTP of the console's
 * reads, against /healthz measured in the same rounds, and the server's RSS.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLogger } from '../src/log.js';
import { generateKeyPair } from '../src/pki/keys.js';
import { openContext } from '../src/service.js';
import { newId } from '../src/store/ids.js';
import { ApiClient, startCertdesk } from '../test/support/certdesk.js';
import { fmt, row, type Row } from './report.js';
import { percentile, residentMemory, residentText, serverNodeArgs } from './stats.js';
import { seedInstances } from './seed.js';

export interface ReadsOptions {
  instances: number;
  /** Requests of each kind. */
  requests: number;
}

const OWNERS = 8;
const P99_TARGET_MS = 20;
const RSS_TARGET_MB = 300;

/** Makes the users, a real certificate to copy and the owners' ids, through certdesk's own code. */
async function prepare(dataDir: string) {
  const first = await startCertdesk({ nodeArgs: serverNodeArgs(), dataDir });
  const admin = await first.user('ops@example.com', 'admin');
  const subscriber = await first.user('bench@example.com', 'subscriber');
  await first.stop();
  const { ctx, db } = await openContext({ dataDir, host: '127.0.0.1', port: 8443, logger: createLogger('warn') });
  try {
    const leaf = ctx.ca.issue({ level: 'dv', dnsNames: ['s0.example.com'], ipAddresses: [], subjectPublicKeyDer: generateKeyPair('ecdsa-p256').publicKey.export({ type: 'spki', format: 'der' }) });
    const bench = await ctx.db.selectFrom('users').select('id').where('email', '=', 'bench@example.com').executeTakeFirstOrThrow();
    const owners = [bench.id];
    for (let i = 1; i < OWNERS; i++) {
      const id = newId('usr');
      await ctx.db.insertInto('users').values({ id, email: `owner${i}@example.com`, role: 'subscriber', password_hash: null, created_at: new Date().toISOString() }).execute();
      owners.push(id);
    }
    return { adminToken: admin.token, subscriberToken: subscriber.token, owners, leafPem: leaf.pem, chainPem: ctx.ca.intermediatePem, issuer: leaf.description.issuer };
  } finally {
    await db.close();
  }
}

export async function readsScenario(options: ReadsOptions): Promise<Row[]> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'certdesk-bench-reads-'));
  try {
    const prepared = await prepare(dataDir);
    const seedStart = performance.now();
    const seeded = seedInstances({ dataDir, count: options.instances, owners: prepared.owners, leafPem: prepared.leafPem, chainPem: prepared.chainPem, issuer: prepared.issuer, now: new Date() });
    const seedSeconds = (performance.now() - seedStart) / 1000;
    const service = await startCertdesk({ nodeArgs: serverNodeArgs(), dataDir });
    try {
      const admin = new ApiClient(service.url, prepared.adminToken);
      const subscriber = new ApiClient(service.url, prepared.subscriberToken);
      // Instance i belongs to the bench subscriber when i % OWNERS === 0.
      const pick = (k: number, own: boolean) => {
        const i = Math.floor(((k * 7919) % 1000) / 1000 * (options.instances - OWNERS));
        return seeded.instance(own ? i - (i % OWNERS) : i);
      };
      const kinds: { name: string; client: ApiClient; path: (k: number) => string }[] = [
        { name: 'GET /healthz (reference)', client: admin, path: () => '/healthz' },
        { name: 'list by status, page of 50 (admin, all owners)', client: admin, path: (k) => `/api/v1/instances?status=issued&pageSize=50&page=${1 + (k % 10)}` },
        { name: 'list by status, page of 50 (subscriber)', client: subscriber, path: (k) => `/api/v1/instances?status=issued&pageSize=50&page=${1 + (k % 10)}` },
        { name: 'search by domain (admin, all owners)', client: admin, path: (k) => `/api/v1/instances?domain=${pick(k, false).domain}&pageSize=50` },
        { name: 'search by domain (subscriber)', client: subscriber, path: (k) => `/api/v1/instances?domain=${pick(k, true).domain}&pageSize=50` },
        { name: 'get one instance (subscriber)', client: subscriber, path: (k) => `/api/v1/instances/${pick(k, true).id}` },
        { name: 'overview (admin)', client: admin, path: () => '/api/v1/overview' },
        { name: 'overview (subscriber)', client: subscriber, path: () => '/api/v1/overview' },
      ];
      const latencies = kinds.map(() => [] as number[]);
      // Round-robin, so a noisy moment on the machine hits every kind alike; the first round warms up.
      for (let k = -1; k < options.requests; k++) {
        for (const [j, kind] of kinds.entries()) {
          const start = performance.now();
          const res = await kind.client.get(kind.path(k + 1));
          const ms = performance.now() - start;
          assert.equal(res.status, 200, `${kind.name}: ${JSON.stringify(res.body).slice(0, 300)}`);
          if (kind.name.startsWith('search') && k >= 0) assert.ok(res.body.total >= 1, `${kind.name} found nothing`);
          if (k >= 0) latencies[j]?.push(ms);
        }
      }
      const memory = await residentMemory(service.pid);
      const health = latencies[0] ?? [];
      const healthP99 = percentile(health, 99);
      const label = `${options.instances.toLocaleString('en-US')} instances`;
      const rows: Row[] = [
        row('4 reads at scale', `seed ${label} + certificates into SQLite`, { value: `${fmt(seedSeconds, 1)} s` }),
        row('4 reads at scale', `start on ${label}: spawn → /healthz ready`, { value: `${fmt(service.readyMs)} ms` }),
      ];
      for (const [j, kind] of kinds.entries()) {
        if (j === 0) continue;
        const values = latencies[j] ?? [];
        const p99 = percentile(values, 99);
        rows.push(
          row('4 reads at scale', `${kind.name}: p50 / p99`, {
            value: `${fmt(percentile(values, 50), 1)} / ${fmt(p99, 1)} ms`,
            reference: `/healthz ${fmt(percentile(health, 50), 1)} / ${fmt(healthP99, 1)} ms`,
            ratio: fmt(p99 / healthP99, 1),
            target: `p99 < ${P99_TARGET_MS} ms`,
            met: p99 < P99_TARGET_MS,
          }),
        );
      }
      rows.push(row('4 reads at scale', `server RSS after the reads (${label})`, { value: residentText(memory, fmt), target: `< ${RSS_TARGET_MB} MB`, met: memory.rss < RSS_TARGET_MB }));
      return rows;
    } finally {
      await service.stop();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}
