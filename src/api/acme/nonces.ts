import { randomFillSync } from 'node:crypto';
import type { Clock } from '../../clock.js';

const LIFETIME_MS = 60 * 60 * 1000;
const MAX_OUTSTANDING = 100_000;
const NONCE_BYTES = 16;
// Random bytes are drawn from the CSPRNG for 256 nonces at a time: one call per nonce cost more than the rest of issuing it.
const POOL_BYTES = NONCE_BYTES * 256;

/**
 * Replay nonces (RFC 8555 §6.5): random, single use, forgotten after an hour.
 * Kept in memory: one certdesk process serves the ACME endpoint, and after a
 * restart clients simply get badNonce once and retry with a fresh nonce.
 */
export class NonceStore {
  private readonly issued = new Map<string, number>();
  private readonly pool = Buffer.alloc(POOL_BYTES);
  private poolOffset = POOL_BYTES;

  constructor(private readonly clock: Clock) {}

  issue(): string {
    const now = this.clock.now().getTime();
    if (this.issued.size >= MAX_OUTSTANDING) this.prune(now);
    // Still full: drop the oldest (Map keeps insertion order).
    if (this.issued.size >= MAX_OUTSTANDING) this.issued.delete(this.issued.keys().next().value as string);
    const nonce = this.randomPart();
    this.issued.set(nonce, now + LIFETIME_MS);
    return nonce;
  }

  /** True once for a nonce this store issued and that has not expired. */
  consume(nonce: string): boolean {
    const expires = this.issued.get(nonce);
    if (expires === undefined) return false;
    this.issued.delete(nonce);
    return expires > this.clock.now().getTime();
  }

  private randomPart(): string {
    if (this.poolOffset === POOL_BYTES) {
      randomFillSync(this.pool);
      this.poolOffset = 0;
    }
    const part = this.pool.toString('base64url', this.poolOffset, this.poolOffset + NONCE_BYTES);
    this.poolOffset += NONCE_BYTES;
    return part;
  }

  private prune(now: number): void {
    for (const [nonce, expires] of this.issued) if (expires <= now) this.issued.delete(nonce);
  }
}
