import type { Clock } from '../../clock.js';
import { randomPool } from '../../random_pool.js';

const LIFETIME_MS = 60 * 60 * 1000;
const MAX_OUTSTANDING = 100_000;
const NONCE_BYTES = 16;

/**
 * Replay nonces (RFC 8555 §6.5): random, single use, forgotten after an hour.
 * Kept in memory: one certdesk process serves the ACME endpoint, and after a
 * restart clients simply get badNonce once and retry with a fresh nonce.
 */
export class NonceStore {
  private readonly issued = new Map<string, number>();

  constructor(private readonly clock: Clock) {}

  issue(): string {
    const now = this.clock.now().getTime();
    if (this.issued.size >= MAX_OUTSTANDING) this.prune(now);
    // Still full: drop the oldest (Map keeps insertion order).
    if (this.issued.size >= MAX_OUTSTANDING) this.issued.delete(this.issued.keys().next().value as string);
    const nonce = randomPool.take(NONCE_BYTES).toString('base64url');
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

  private prune(now: number): void {
    for (const [nonce, expires] of this.issued) if (expires <= now) this.issued.delete(nonce);
  }
}
