/** Timing helpers shared by the scenarios: latency samples, percentiles, a bounded worker pool. */

/** Latencies in milliseconds, collected per named step. */
export class Samples {
  private readonly byStep = new Map<string, number[]>();

  add(step: string, ms: number): void {
    const list = this.byStep.get(step);
    if (list) list.push(ms);
    else this.byStep.set(step, [ms]);
  }

  /** Runs `work`, records how long it took under `step`, and returns its result. */
  async time<T>(step: string, work: () => Promise<T>): Promise<T> {
    const start = performance.now();
    try {
      return await work();
    } finally {
      this.add(step, performance.now() - start);
    }
  }

  steps(): string[] {
    return [...this.byStep.keys()];
  }

  percentile(step: string, p: number): number {
    return percentile(this.byStep.get(step) ?? [], p);
  }
}

/** The nearest-rank percentile (p in 0..100) of `values`; NaN when there are none. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

export function median(values: number[]): number {
  return percentile(values, 50);
}

/** Runs `work` over `items` with at most `concurrency` in flight; rejects on the first failure. */
export async function pool<T>(items: T[], concurrency: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      await work(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

/** A process's resident memory in MB: anonymous pages (heaps) and pages of mapped files (the node binary and libraries), from /proc (Linux). */
export interface ResidentMemory {
  rss: number;
  anonymous: number;
  fileBacked: number;
}

export async function residentMemory(pid: number): Promise<ResidentMemory> {
  const { readFile } = await import('node:fs/promises');
  const rollup = await readFile(`/proc/${pid}/smaps_rollup`, 'utf8');
  const mb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(rollup)?.[1] ?? Number.NaN) / 1024;
  const rss = mb('Rss');
  const anonymous = mb('Anonymous');
  return { rss, anonymous, fileBacked: rss - anonymous };
}

/** "97 MB (anonymous 51 · file-backed 46)". */
export function residentText(memory: ResidentMemory, fmt: (n: number) => string): string {
  return `${fmt(memory.rss)} MB (anonymous ${fmt(memory.anonymous)} · file-backed ${fmt(memory.fileBacked)})`;
}

/**
 * Node options for the certdesk servers a scenario starts: CERTDESK_BENCH_CPU_PROF=DIR
 * writes a CPU profile of each into DIR, CERTDESK_BENCH_HEAP_PROF=DIR a sampling heap
 * profile (what is still allocated when the server stops, by allocation site).
 */
export function serverNodeArgs(): string[] {
  const cpu = process.env.CERTDESK_BENCH_CPU_PROF;
  const heap = process.env.CERTDESK_BENCH_HEAP_PROF;
  return [...(cpu ? ['--cpu-prof', '--cpu-prof-dir', cpu] : []), ...(heap ? ['--heap-prof', '--heap-prof-dir', heap] : [])];
}
