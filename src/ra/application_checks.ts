/**
 * Checks the console runs while the user types, with the same rules the save
 * applies, without saving anything: the domains against the instance's quota
 * and a pasted CSR against the names it must carry.
 */
import { CertdeskError } from '../errors.js';
import { checkCsr } from '../pki/csr.js';
import { spkiDerFacts } from '../pki/keys.js';
import type { Actor } from './actor.js';
import type { RaContext } from './context.js';
import { loadOwnedInstance, quotaOf } from './instances.js';
import { checkNames, normalizeName, type BoundName, type NameQuota } from './names.js';

export interface Problem {
  code: string;
  message: string;
  field?: string;
}

function asProblem(err: unknown): Problem {
  if (!(err instanceof CertdeskError)) throw err;
  return { code: err.code, message: err.message, ...(err.field ? { field: err.field } : {}) };
}

export async function checkDomainsFor(ctx: RaContext, actor: Actor, instanceId: string, domains: string | string[]): Promise<{ valid: boolean; names: BoundName[]; quota: NameQuota; problem: Problem | null }> {
  const instance = await loadOwnedInstance(ctx, actor, instanceId);
  const quota = await quotaOf(ctx, instance);
  try {
    return { valid: true, names: checkNames(domains, quota, { allowIp: ctx.settings.current().allowIpAddresses }), quota, problem: null };
  } catch (err) {
    return { valid: false, names: [], quota, problem: asProblem(err) };
  }
}

export async function checkPastedCsr(
  pem: string,
  names: string[],
): Promise<{ valid: boolean; commonName: string | null; names: string[]; key: string | null; signatureAlgorithm: string | null; problem: Problem | null }> {
  try {
    const expected = names.map((n, i) => normalizeName(n, `names[${i}]`).name);
    const csr = await checkCsr(pem, expected);
    // The same key label as the certificate detail shows ("ECDSA P-256", "RSA 2048").
    const key = spkiDerFacts(csr.spkiDer).label;
    return { valid: true, commonName: csr.commonName ?? null, names: [...csr.dnsNames, ...csr.ipAddresses], key, signatureAlgorithm: csr.signatureAlgorithm, problem: null };
  } catch (err) {
    return { valid: false, commonName: null, names: [], key: null, signatureAlgorithm: null, problem: asProblem(err) };
  }
}
