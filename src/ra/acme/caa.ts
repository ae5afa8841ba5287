/**
 * CAA for ACME orders, with the RFC 8657 parameters the Baseline Requirements
 * (3.2.2.8) make CAs honour: accounturi names the ordering account's URL,
 * validationmethods the challenge types. newOrder asks for every name with
 * every type that could prove it, refuses the order when none may, and offers
 * (or reuses an authorization proven by) only the types CAA allows, so a
 * challenge needs no second question; finalize asks again, with each name's
 * proving type, when newOrder's answer is older than it may be reused.
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
  /** The challenge types that could prove the name. */
  methods: readonly string[];
}

/** Asks about every name at once: why CAA forbids the first name it forbids (or null), and the types it allows for each name. */
export async function askCaa(ctx: RaContext, accountId: string, names: readonly CaaName[]): Promise<{ refusal: string | null; allowedMethods: (readonly string[])[] }> {
  const identities = ctx.settings.current().caaIdentities;
  const accountUri = acmeAccountUrl(ctx, accountId);
  const results = await Promise.all(names.map((n) => checkCaa(ctx.dns(), n.name, { identities, wildcard: n.name.startsWith('*.'), methods: n.methods, accountUri })));
  const refused = results.findIndex((r) => !r.allowed);
  return {
    refusal: refused < 0 ? null : `CAA forbids issuing for ${names[refused]?.display}: ${results[refused]?.reason}`,
    allowedMethods: results.map((r) => r.allowedMethods),
  };
}

/** The requester an order's finalize hands to issuance: its account, and each name's proving challenge type. */
export function acmeRequester(ctx: RaContext, accountId: string, typeOf: ReadonlyMap<string, string>): CaaRequester {
  return { accountUri: acmeAccountUrl(ctx, accountId), methodsOf: (name) => [typeOf.get(name) ?? ''].filter((t) => t !== '') };
}
