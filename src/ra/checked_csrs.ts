/**
 * CSRs this process already parsed or checked, by their PEM text. Parsing,
 * the signature and the key policy are pure functions of the bytes, so an
 * application's unchanged CSR is parsed and verified once (at save), not
 * again at submit and issuance. The names are compared again whenever they
 * differ from the ones the CSR was last checked against.
 */
import { checkCsr, parseCsr, type ParsedCsr } from '../pki/csr.js';

const MAX_ENTRIES = 4096;

interface Entry {
  csr: ParsedCsr;
  /** The names `checkCsr` accepted it for, joined; null when only parsed. */
  checkedFor: string | null;
}

const entries = new Map<string, Entry>();

function remember(pem: string, entry: Entry): void {
  entries.delete(pem);
  entries.set(pem, entry);
  if (entries.size > MAX_ENTRIES) entries.delete(entries.keys().next().value as string);
}

/** `checkCsr(pem, expectedNames)`, without repeating it for a CSR already accepted for the same names. */
export async function checkCsrOnce(pem: string, expectedNames: string[]): Promise<ParsedCsr> {
  const names = expectedNames.join('\n');
  const known = entries.get(pem);
  if (known?.checkedFor === names) {
    remember(pem, known);
    return known.csr;
  }
  const csr = await checkCsr(pem, expectedNames);
  remember(pem, { csr, checkedFor: names });
  return csr;
}

/** `parseCsr(pem)`, reusing an earlier parse of the same text. */
export function parseCsrOnce(pem: string): ParsedCsr {
  const known = entries.get(pem);
  if (known) return known.csr;
  const csr = parseCsr(pem);
  remember(pem, { csr, checkedFor: null });
  return csr;
}
