/**
 * fsync of SQLite's write-ahead log on libuv's thread pool, so the event loop
 * keeps serving while the disk flushes. One fsync runs at a time; each covers
 * everything written to the file before it started, so callers that arrive
 * while one runs share the next.
 */
import { close, fsync, openSync } from 'node:fs';
import { promisify } from 'node:util';

const fsyncFd = promisify(fsync);
const closeFd = promisify(close);

interface Waiter {
  resolve(): void;
  reject(error: Error): void;
}

/** What the batcher needs of the log's fsync; tests stand in a slow or failing disk. */
export interface LogSync {
  sync(): Promise<void>;
  close(): Promise<void>;
  /** fsyncs completed so far. */
  readonly completed: number;
}

export class WalSync implements LogSync {
  readonly #path: string;
  #completed = 0;
  #fd: number | null = null;
  #waiting: Waiter[] = [];
  #running: Promise<void> | null = null;

  constructor(walPath: string) {
    this.#path = walPath;
  }

  get completed(): number {
    return this.#completed;
  }

  /** Resolves once everything written to the log before this call is on disk; rejects if the fsync fails. */
  sync(): Promise<void> {
    const done = new Promise<void>((resolve, reject) => this.#waiting.push({ resolve, reject }));
    this.#running ??= this.#drain();
    return done;
  }

  /** Waits for the syncs asked for so far, then releases the file. */
  async close(): Promise<void> {
    await this.#running;
    if (this.#fd !== null) await closeFd(this.#fd);
    this.#fd = null;
  }

  async #drain(): Promise<void> {
    while (this.#waiting.length > 0) {
      const group = this.#waiting;
      this.#waiting = [];
      try {
        // Opened on first use: SQLite creates the log with the first write.
        this.#fd ??= openSync(this.#path, 'r');
        await fsyncFd(this.#fd);
        this.#completed += 1;
        for (const waiter of group) waiter.resolve();
      } catch (error) {
        for (const waiter of group) waiter.reject(error instanceof Error ? error : new Error(String(error)));
      }
    }
    this.#running = null;
  }
}
