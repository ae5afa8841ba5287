/**
 * cRLNumbers (RFC 5280 5.2.3): every CRL an issuer signs carries a larger
 * number than the one before, so a relying party can tell which supersedes
 * which. Milliseconds since the epoch keep growing across restarts; one more
 * than the last keeps two CRLs signed within the same millisecond apart.
 */
export class CrlNumbers<Issuer> {
  readonly #last = new Map<Issuer, bigint>();

  next(issuer: Issuer, now: Date): bigint {
    const last = this.#last.get(issuer) ?? 0n;
    const atNow = BigInt(now.getTime());
    const next = atNow > last ? atNow : last + 1n;
    this.#last.set(issuer, next);
    return next;
  }
}
