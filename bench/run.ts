/**
 * `npm run bench [-- --quick] [-- --only 1,4]`: runs the scenarios on servers
 * it starts on 127.0.0.1, prints one table, and writes it with the machine and
 * commit to BENCHMARKS.md (the part below the table's marker is kept).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { acmeScenario } from './acme.js';
import { dvRestScenario } from './dv_rest.js';
import { readsScenario } from './reads.js';
import { machine, machineLine, markdownTable, row, type Row } from './report.js';
import { signingScenario } from './signing.js';
import { startupScenario } from './startup.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const RESULTS_END = '<!-- end of results -->';

/** Full and quick sizes; --quick keeps the whole run under three minutes. */
function scenarios(quick: boolean): { id: string; name: string; run: () => Promise<Row[]> }[] {
  return [
    { id: '1', name: 'signing path', run: () => signingScenario(quick ? { rounds: 3, roundMs: 500 } : { rounds: 5, roundMs: 2000 }) },
    { id: '2', name: 'DV over REST', run: () => dvRestScenario(quick ? { certificates: { 1: 20, 16: 128, 64: 256 }, floorWindowMs: 400, warmUpCertificates: 256 } : { certificates: { 1: 100, 16: 1000, 64: 2000 }, warmUpCertificates: 6144 }) },
    { id: '3', name: 'ACME vs Pebble', run: () => acmeScenario(quick ? { orders: 48, concurrency: 16, warmUpOrders: 48 } : { orders: 320, concurrency: 16, warmUpOrders: 160 }) },
    // 1,000 of each read: with 200 the p99 was the second slowest request, which one slow moment of a shared machine decides.
    { id: '4', name: 'reads at scale', run: () => readsScenario(quick ? { instances: 50_000, requests: 50 } : { instances: 1_000_000, requests: 1000 }) },
    { id: '5', name: 'start and idle', run: () => startupScenario(quick ? { starts: 3, idleMs: 2000 } : { starts: 7, idleMs: 5000 }) },
  ];
}

function writeReport(table: string, quick: boolean): void {
  const file = path.join(ROOT, 'BENCHMARKS.md');
  const previous = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const analysis = previous.includes(RESULTS_END) ? previous.slice(previous.indexOf(RESULTS_END) + RESULTS_END.length) : '\n';
  const header = `# certdesk benchmarks\n\nWritten by \`npm run bench${quick ? ' -- --quick' : ''}\` (${quick ? 'quick sizes' : 'full sizes'}). Every ratio compares with a reference measured in the same run, because absolute times drift on a shared machine.\n\n${machineLine(machine(ROOT, new Date()))}\n\n`;
  writeFileSync(file, `${header}${table}\n\n${RESULTS_END}${analysis}`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, only: { type: 'string' } } });
  const quick = values.quick ?? false;
  const only = values.only?.split(',').map((s) => s.trim());
  const rows: Row[] = [];
  const started = performance.now();
  for (const scenario of scenarios(quick)) {
    if (only && !only.includes(scenario.id)) continue;
    const t = performance.now();
    process.stderr.write(`bench: ${scenario.id} ${scenario.name}…`);
    try {
      rows.push(...(await scenario.run()));
    } catch (error) {
      rows.push(row(`${scenario.id} ${scenario.name}`, 'scenario failed', { value: (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '' }));
    }
    process.stderr.write(` ${((performance.now() - t) / 1000).toFixed(1)} s\n`);
  }
  const table = markdownTable(rows);
  console.log(`\n${machineLine(machine(ROOT, new Date()))}\n\n${table}\n\n(total ${((performance.now() - started) / 1000).toFixed(0)} s)`);
  writeReport(table, quick);
}

await main();
