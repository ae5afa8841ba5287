/** The ACME problem a call ends in, as the short type ("badNonce"), or "accepted" when it succeeds. */
import { toProblem } from '../../src/api/acme/problems.js';

const shortType = (err: unknown): string => toProblem(err).body.type.replace('urn:ietf:params:acme:error:', '');

export function problemTypeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return shortType(err);
  }
  return 'accepted';
}

export async function problemTypeOfAsync(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'accepted';
  } catch (err) {
    return shortType(err);
  }
}
