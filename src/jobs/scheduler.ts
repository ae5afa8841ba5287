/**
 * Durable background work: the state it acts on lives in the database
 * (validations with their next-check time), so a restart loses nothing; the
 * timer only decides when to look again.
 */
import type { Logger } from '../log.js';

export interface PeriodicJob {
  stop(): Promise<void>;
}

/** Runs `work` every `intervalMs`, never two runs at once; errors are logged and the next run still happens. */
export function every(intervalMs: number, name: string, logger: Logger, work: () => Promise<unknown>): PeriodicJob {
  let running: Promise<unknown> | null = null;
  const timer = setInterval(() => {
    if (running) return;
    running = work()
      .catch((err: unknown) => logger.error({ job: name, err: err instanceof Error ? err.message : String(err) }, 'background job failed'))
      .finally(() => {
        running = null;
      });
  }, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
