import { randomFillSync } from 'node:crypto';

/**
 * Bytes from the CSPRNG, drawn a buffer at a time: one `randomBytes` call per
 * identifier, nonce or serial cost more than the rest of making it. Every
 * byte is handed out once.
 */
export class RandomPool {
  readonly #pool: Buffer;
  #used: number;

  constructor(size = 4096) {
    this.#pool = Buffer.alloc(size);
    this.#used = size;
  }

  /** The next `n` random bytes, as a view into the pool: encode or copy them before the next call. */
  take(n: number): Buffer {
    if (!Number.isInteger(n) || n <= 0 || n > this.#pool.length) throw new RangeError(`a RandomPool of ${this.#pool.length} bytes hands out 1 to ${this.#pool.length} bytes at a time, not ${n}`);
    if (this.#used + n > this.#pool.length) {
      randomFillSync(this.#pool);
      this.#used = 0;
    }
    const bytes = this.#pool.subarray(this.#used, this.#used + n);
    this.#used += n;
    return bytes;
  }
}

/** The process's shared pool, for identifiers, nonces and serials. */
export const randomPool = new RandomPool();
