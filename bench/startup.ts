/**
 * Scenario 5, start and idle: time from spawning `certdesk serve` on an
 * existing data folder to /healthz answering, and the idle RSS, against the
 * start time and the idle RSS of a bare node process measured in the same run.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startCertdesk } from '../test/support/certdesk.js';
import { fmt, row, type Row } from './report.js';
import { median, residentMemory, residentText, serverNodeArgs, type ResidentMemory } from './stats.js';

export interface StartupOptions {
  starts: number;
  /** How long the server sits idle before its RSS is read. */
  idleMs: number;
}

/** The resident memory of a node process that loads nothing and waits, after `idleMs`: what any Node.js service starts from. */
async function bareNodeIdle(idleMs: number): Promise<ResidentMemory> {
  const bare = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 600_000)'], { stdio: 'ignore' });
  try {
    await sleep(idleMs);
    return await residentMemory(bare.pid as number);
  } finally {
    bare.kill();
  }
}

export async function startupScenario(options: StartupOptions): Promise<Row[]> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'certdesk-bench-start-'));
  try {
    // First start creates the CA hierarchy and the schema; it is not what is measured.
    const first = await startCertdesk({ nodeArgs: serverNodeArgs(), dataDir });
    await first.user('bench@example.com', 'subscriber');
    await first.stop();
    const starts: number[] = [];
    const nodeStarts: number[] = [];
    let idle: ResidentMemory | null = null;
    for (let i = 0; i < options.starts; i++) {
      const t = performance.now();
      const bare = spawnSync(process.execPath, ['-e', '']);
      if (bare.status !== 0) throw new Error(`node -e '' exited with ${bare.status}`);
      nodeStarts.push(performance.now() - t);
      const service = await startCertdesk({ nodeArgs: serverNodeArgs(), dataDir });
      try {
        starts.push(service.readyMs);
        if (i === options.starts - 1) {
          await sleep(options.idleMs);
          idle = await residentMemory(service.pid);
        }
      } finally {
        await service.stop();
      }
    }
    const bare = await bareNodeIdle(options.idleMs);
    const idleRss = idle?.rss ?? Number.NaN;
    const start = median(starts);
    const nodeStart = median(nodeStarts);
    return [
      row('5 start and idle', `start on an existing data folder: spawn → /healthz ready (median of ${options.starts})`, {
        value: `${fmt(start)} ms`,
        reference: `node -e '' ${fmt(nodeStart)} ms`,
        ratio: fmt(start / nodeStart, 1),
        target: '< 1000 ms',
        met: start < 1000,
      }),
      row('5 start and idle', `idle RSS after ${fmt(options.idleMs / 1000, 0)} s`, {
        value: idle ? residentText(idle, fmt) : 'n/a',
        reference: `bare node ${residentText(bare, fmt)}`,
        ratio: fmt(idleRss / bare.rss, 1),
        target: '< 150 MB',
        met: idleRss < 150,
      }),
    ];
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}
