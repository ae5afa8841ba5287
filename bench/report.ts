/** The one table every scenario adds rows to, printed and written to BENCHMARKS.md with the machine it ran on. */
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';

export interface Row {
  scenario: string;
  measure: string;
  /** What was measured, with its unit. */
  value: string;
  /** The reference measured in the same run, with its unit ('' when the row has none). */
  reference: string;
  /** value / reference, or '' */
  ratio: string;
  target: string;
  /** true, false, or null when the row has no target. */
  met: boolean | null;
}

export const fmt = (n: number, digits = n >= 100 ? 0 : n >= 10 ? 1 : 2): string => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');

export function row(scenario: string, measure: string, fields: Partial<Omit<Row, 'scenario' | 'measure'>>): Row {
  return { scenario, measure, value: '', reference: '', ratio: '', target: '', met: null, ...fields };
}

export function markdownTable(rows: Row[]): string {
  const header = ['Scenario', 'Measure', 'Value', 'Reference (same run)', 'Ratio', 'Target', 'Met'];
  const cells = rows.map((r) => [r.scenario, r.measure, r.value, r.reference, r.ratio, r.target, r.met === null ? '' : r.met ? 'yes' : 'no']);
  const escape = (s: string) => s.replace(/\|/g, '\\|');
  return [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...cells.map((c) => `| ${c.map(escape).join(' | ')} |`)].join('\n');
}

export interface Machine {
  date: string;
  cores: number;
  cpu: string;
  node: string;
  commit: string;
}

export function machine(root: string, now: Date): Machine {
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
    // BENCHMARKS.md is the report itself: a table from an earlier run left in it does not change the code measured.
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no', '--', '.', ':(exclude)BENCHMARKS.md'], { cwd: root, encoding: 'utf8' }).trim() !== '';
    if (dirty) commit += ' (with uncommitted changes)';
  } catch {
    // not a git checkout
  }
  return { date: now.toISOString(), cores: cpus().length, cpu: cpus()[0]?.model.trim() ?? 'unknown', node: process.version, commit };
}

export function machineLine(m: Machine): string {
  return `${m.date} · ${m.cores} cores, ${m.cpu} · Node ${m.node} · commit ${m.commit}`;
}
