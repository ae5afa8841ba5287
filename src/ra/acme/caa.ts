/**
 * CAA for ACME orders, with the RFC 8657 parameters the Baseline Requirements
 * (3.2.2.8) make CAs honour: accounturi names the ordering account's URL,
 * validationmethods the challenge types. newOrder asks with every type that
 * could still prove a name; a challenge asks again with its own type before
 * it counts, as Boulder does; finalize asks again with each name's type when
 * a validation it relies on is older than the window in which a CAA answer
 * may be reused.
 */
import { checkCaa } from '../../va/caa.js';
import type { RaContext } from '../context.js';
import type { CaaRequester } from '../issuance.js';

/** An account's URL, as the ACME routes serve it (`/acme/acct/:id`) and as a CAA accounturi names it. */
export function acmeAccountUrl(ctx: RaContext, accountId: string): string {
  return `${ctx.publicUrl}/acme/acct/${accountId}`;
}

export interface CaaName {
  /** The DNS name, `*.` first for a wildcard. */
  name: string;
  display: string;
  /** The challenge types that proved the name, or may still prove it. */
  methods: readonly string[];
}

/** Asks about every name at once; why CAA forbids the first name (in order) it forbids, or null. */
export async function caaRefusal(ctx: RaContext, accountId: string, names: readonly CaaName[]): Promise<string | null> {
  const identities = ctx.settings.current().caaIdentities;
  const accountUri = acmeAccountUrl(ctx, accountId);
  const results = await Promise.all(names.map((n) => checkCaa(ctx.dns(), n.name, { identities, wildcard: n.name.startsWith('*.'), methods: n.methods, accountUri })));
  const refused = results.findIndex((r) => !r.allowed);
  return refused < 0 ? null : `CAA forbids issuing for ${names[refused]?.display}: ${results[refused]?.reason}`;
}

/** The requester an order's finalize hands to issuance: its account, and each name's proving challenge type. */
export function acmeRequester(ctx: RaContext, accountId: string, typeOf: ReadonlyMap<string, string>): CaaRequester {
  return { accountUri: acmeAccountUrl(ctx, accountId), methodsOf: (name) => [typeOf.get(name) ?? ''].filter((t) => t !== '') };
}
