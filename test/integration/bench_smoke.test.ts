/**
 * Each benchmark scenario still runs and produces numbers, at a tiny size.
 * The benchmarks themselves never run in the test suite (`npm run bench`).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { acmeScenario } from '../../bench/acme.js';
import { dvRestScenario } from '../../bench/dv_rest.js';
import { readsScenario } from '../../bench/reads.js';
import type { Row } from '../../bench/report.js';
import { signingScenario } from '../../bench/signing.js';
import { startupScenario } from '../../bench/startup.js';
import { backends } from '../support/certdesk.js';
import { requireTool } from '../support/tools.js';

/** A resident memory figure: "97.0 MB (anonymous 51.3 · file-backed 45.7)". */
const RESIDENT = /^\d+(\.\d+)? MB \(anonymous \d+(\.\d+)? · file-backed \d+(\.\d+)?\)$/;

/** Every row that has a target carries a measured number. */
function assertMeasured(rows: Row[]): void {
  assert.ok(rows.length > 0, 'the scenario produced rows');
  for (const r of rows) {
    assert.notEqual(r.measure, 'scenario failed', r.value);
    if (r.met !== null) assert.match(r.value, /\d/, `${r.measure}: ${r.value}`);
  }
}

test('signing path: CA issuance and bare signing rates', async () => {
  const rows = await signingScenario({ rounds: 1, roundMs: 100 });
  assertMeasured(rows);
  assert.match(rows[0]?.ratio ?? '', /^\d+\.\d+$/);
});

test('DV over REST: certificates issued through the API with TXT records in bind9', async (t) => {
  if (!requireTool(t, 'named') || !requireTool(t, 'nsupdate')) return;
  const measured = await backends();
  const rows = await dvRestScenario({ certificates: { 1: 2, 4: 4 }, backends: measured, floorWindowMs: 50, warmUpCertificates: 4 });
  assertMeasured(rows);
  // Each backend's server took its turns: both report every concurrency, and their ratio is set.
  for (const label of measured.map((b) => (b === 'sqlite' ? 'SQLite' : 'PostgreSQL'))) {
    for (const c of [1, 4]) assert.ok(rows.some((r) => r.measure === `${label}, concurrency ${c}: issued certs/s (${c === 1 ? 2 : 4} certs)`), `${label} at concurrency ${c}`);
  }
  if (measured.includes('postgres')) assert.match(rows.find((r) => r.measure === 'PostgreSQL vs SQLite at concurrency 4')?.ratio ?? '', /^\d+\.\d+$/);
  const rate = rows.find((r) => /concurrency 4: issued certs\/s/.test(r.measure));
  assert.match(rate?.value ?? '', /^\d/);
  // Set against bare HTTP round trips measured in the same run.
  assert.match(rate?.reference ?? '', /^HTTP floor \d+(\.\d+)?\/s \(5 × GET \/healthz per certificate\)$/);
  assert.ok(Number(rate?.ratio) > 0 && Number(rate?.ratio) < 1, `ratio to the HTTP floor: ${rate?.ratio}`);
  const cpu = rows.find((r) => r.measure === 'SQLite, concurrency 4: CPU per certificate')?.value ?? '';
  assert.match(cpu, /^server \d+\.\d ms \(JavaScript thread \d+\.\d\) · driver \d+\.\d ms \(JavaScript thread \d+\.\d\) · rest of the machine \d+\.\d ms$/);
  const busy = rows.find((r) => r.measure === 'SQLite, concurrency 4: busy while issuing')?.value ?? '';
  assert.match(busy, /^server JavaScript thread \d+ % · driver JavaScript thread \d+ % · all cores \d+ %$/);
});

test('ACME: Pebble and certdesk orders per second', async (t) => {
  if (!requireTool(t, 'pebble') || !requireTool(t, 'named') || !requireTool(t, 'openssl')) return;
  const rows = await acmeScenario({ orders: 2, concurrency: 2 });
  const value = (measure: RegExp) => rows.find((r) => measure.test(r.measure))?.value ?? '';
  assert.match(value(/^Pebble orders\/s/), /^\d+(\.\d+)?\/s$/, 'Pebble orders per second');
  assert.match(value(/^certdesk orders\/s/), /^\d+(\.\d+)?\/s$/, 'certdesk orders per second');
  // Pebble is not Node: its CPU has no JavaScript thread part; certdesk's has.
  assert.match(value(/^Pebble: CPU per order/), /^server \d+\.\d ms · driver/);
  assert.match(value(/^certdesk: CPU per order/), /^server \d+\.\d ms \(JavaScript thread \d+\.\d\) · driver/);
  // The orders are split over two acme-client threads, each measured.
  assert.match(value(/^certdesk: CPU per order/), /\(JavaScript threads \d+\.\d \+ \d+\.\d\)/);
  assert.match(value(/^certdesk: busy while ordering/), /^server JavaScript thread \d+ % · driver JavaScript threads \d+ % \/ \d+ % · all cores \d+ %$/);
  // The warm-up orders opened the driver's connections; certdesk's replies (its HEAD newNonce too) keep them.
  assert.equal(value(/^certdesk: connections the driver opened per order/), '0.00');
  const pebbleConnections = /^(\d+\.\d\d) \(each a TLS handshake\)$/.exec(value(/^Pebble: connections the driver opened per order/))?.[1];
  assert.ok(Number(pebbleConnections) >= 2, `Pebble's HEAD replies close connections: ${pebbleConnections} per order`);
  // With nonces asked by GET the driver keeps Pebble's connections (one may be opened again after the pause before the clock starts), and the second ratio has no target.
  assert.ok(Number.parseFloat(value(/^Pebble, nonces by GET: connections the driver opened per order/)) <= 1);
  const byGet = rows.find((r) => /^certdesk, nonces by GET orders\/s/.test(r.measure));
  assert.match(byGet?.reference ?? '', /^Pebble, nonces by GET \d+(\.\d+)?\/s$/);
  assert.match(byGet?.ratio ?? '', /^\d+\.\d\d$/);
  assert.equal(byGet?.met, null);
});

test('reads at scale: seeded rows are read over HTTP with latencies and RSS', async () => {
  const rows = await readsScenario({ instances: 2000, requests: 3 });
  assertMeasured(rows);
  assert.ok(rows.some((r) => r.measure.startsWith('overview (admin)')));
  assert.match(rows.find((r) => r.measure.startsWith('server RSS'))?.value ?? '', RESIDENT);
});

test('start and idle: start time and idle memory', async () => {
  const rows = await startupScenario({ starts: 1, idleMs: 100 });
  assertMeasured(rows);
  // The idle RSS, split into heaps and mapped files, is set against a bare node process's, measured in the same run.
  const idle = rows.find((r) => r.measure.startsWith('idle RSS'));
  assert.match(idle?.value ?? '', RESIDENT);
  assert.match(idle?.reference ?? '', new RegExp(`^bare node ${RESIDENT.source.slice(1)}`));
  assert.ok(Number(idle?.ratio) > 1, `certdesk idles above a bare node process: ${idle?.ratio}`);
});
