/**
 * Who holds each API token, remembered for a few seconds. Every REST request
 * names its token, and on PostgreSQL looking it up was one of a DV
 * certificate's 21 trips to the database in five. Only tokens that were
 * found are remembered, so a token made by the CLI in another process works
 * at once. A role changed through the API forgets everything at once; a
 * token row deleted, or a role changed, in the database by hand takes effect
 * within TOKEN_ACTOR_TTL_MS.
 */
import type { Clock } from '../clock.js';
import type { Actor } from './actor.js';

export const TOKEN_ACTOR_TTL_MS = 5_000;
/** Past this many tokens within one TTL the map starts over instead of growing. */
const MAX_TOKENS = 10_000;

export class TokenActors {
  readonly #entries = new Map<string, { actor: Actor; until: number }>();
  /** Bumped by forgetAll, so a lookup that read the database before a change cannot store what it read after it. */
  #generation = 0;

  constructor(private readonly clock: Clock) {}

  /** The actor for a token's hash: remembered, or loaded by `load` and remembered if found. */
  async actorFor(tokenHash: string, load: () => Promise<Actor | null>): Promise<Actor | null> {
    const now = this.clock.now().getTime();
    const entry = this.#entries.get(tokenHash);
    if (entry && entry.until > now) return entry.actor;
    if (entry) this.#entries.delete(tokenHash);
    const generation = this.#generation;
    const actor = await load();
    if (actor && generation === this.#generation) {
      if (this.#entries.size >= MAX_TOKENS) this.#entries.clear();
      this.#entries.set(tokenHash, { actor: Object.freeze({ ...actor }), until: now + TOKEN_ACTOR_TTL_MS });
    }
    return actor;
  }

  forgetAll(): void {
    this.#generation++;
    this.#entries.clear();
  }
}
