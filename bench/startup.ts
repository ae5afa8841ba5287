/**
 * Scenario 5, start and idle: time from spawning `certdesk serve` on an
 * existing data folder to /healthz answering, and the idle RSS, against the
 * start time of a bare `node -e ''` measured in the same run.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startCertdesk } from '../test/support/certdesk.js';
import { fmt, row, type Row } from './report.js';
import { median, rssMb, serverNodeArgs } from './stats.js';

export interface StartupOptions {
  starts: number;
  /** How long the server sits idle before its RSS is read. */
  idleMs: number;
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
    let idleRss = Number.NaN;
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
          idleRss = await rssMb(service.pid);
        }
      } finally {
        await service.stop();
      }
    }
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
      row('5 start and idle', `idle RSS after ${fmt(options.idleMs / 1000, 0)} s`, { value: `${fmt(idleRss)} MB`, target: '< 150 MB', met: idleRss < 150 }),
    ];
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}
