/**
 * Scenario 1, the signing path: leaf certificates per second through the CA
 * component (profile, serial, lint, sign) against a bare crypto.sign loop over
 * the same TBS bytes with the same intermediate key, in the same process.
 */
import { createPrivateKey, sign, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CertificateAuthority, type IssueRequest } from '../src/ca/authority.js';
import { KeyVault } from '../src/ca/key_vault.js';
import { systemClock } from '../src/clock.js';
import { children, readTlv } from '../src/pki/der.js';
import { generateKeyPair } from '../src/pki/keys.js';
import { fromPem } from '../src/pki/pem.js';
import { openDatabase } from '../src/store/database.js';
import { fmt, row, type Row } from './report.js';

export interface SigningOptions {
  /** Alternating rounds of CA issuance and bare signing; more rounds even out a noisy machine. */
  rounds: number;
  roundMs: number;
}

/** Calls `work` repeatedly for about `ms` milliseconds; returns how many calls and how long they took. */
function loopFor(ms: number, work: () => void): { count: number; ms: number } {
  const start = performance.now();
  let count = 0;
  let elapsed = 0;
  while (elapsed < ms) {
    for (let i = 0; i < 20; i++) work();
    count += 20;
    elapsed = performance.now() - start;
  }
  return { count, ms: elapsed };
}

export async function signingScenario(options: SigningOptions): Promise<Row[]> {
  const dir = mkdtempSync(path.join(tmpdir(), 'certdesk-bench-ca-'));
  const db = await openDatabase({ dataDir: dir });
  try {
    const { vault } = KeyVault.openOrCreate(dir);
    const { ca } = await CertificateAuthority.open(db.db, vault, systemClock, { publicUrl: 'http://127.0.0.1:8443', keyAlgorithm: 'ecdsa', name: 'bench' });
    const intermediate = await db.db.selectFrom('authorities').selectAll().where('kind', '=', 'intermediate').executeTakeFirstOrThrow();
    const intermediateKey: KeyObject = createPrivateKey(vault.open(intermediate.key_sealed, `authority:${intermediate.id}`));
    const leaf = generateKeyPair('ecdsa-p256');
    const request: IssueRequest = {
      level: 'dv',
      dnsNames: ['www.example.com'],
      ipAddresses: [],
      subjectPublicKeyDer: leaf.publicKey.export({ type: 'spki', format: 'der' }),
    };
    // The bare loop signs exactly the TBS bytes the CA produced.
    const der = fromPem(ca.issue(request).pem, 'CERTIFICATE');
    const tbs = children(der, readTlv(der, 0))[0];
    if (!tbs) throw new Error('the issued certificate has no TBSCertificate');
    const tbsDer = der.subarray(tbs.start, tbs.end);
    const issueOnce = () => void ca.issue(request);
    const signOnce = () => void sign('sha256', tbsDer, intermediateKey);
    loopFor(Math.min(300, options.roundMs), issueOnce);
    loopFor(Math.min(300, options.roundMs), signOnce);
    let caRun = { count: 0, ms: 0 };
    let bareRun = { count: 0, ms: 0 };
    for (let r = 0; r < options.rounds; r++) {
      const b = loopFor(options.roundMs, signOnce);
      const c = loopFor(options.roundMs, issueOnce);
      bareRun = { count: bareRun.count + b.count, ms: bareRun.ms + b.ms };
      caRun = { count: caRun.count + c.count, ms: caRun.ms + c.ms };
    }
    const caRate = (caRun.count / caRun.ms) * 1000;
    const bareRate = (bareRun.count / bareRun.ms) * 1000;
    const ratio = caRate / bareRate;
    return [
      row('1 signing path', 'leaf certs/s through CertificateAuthority.issue (ECDSA P-256 leaf, P-256 intermediate)', {
        value: `${fmt(caRate)}/s`,
        reference: `bare crypto.sign ${fmt(bareRate)}/s`,
        ratio: fmt(ratio, 2),
        target: '≥ 0.5',
        met: ratio >= 0.5,
      }),
    ];
  } finally {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
