/**
 * Fills a stopped certdesk's SQLite database with instances and certificates
 * in bulk (prepared statements, large transactions), straight into the store
 * and not through the API: a data set of a size the API would take hours to build.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import type { InstanceStatus, Product } from '../src/store/schema.js';

export interface SeedInput {
  dataDir: string;
  count: number;
  /** Owner ids; instance i belongs to owners[i % owners.length]. */
  owners: string[];
  /** A real leaf certificate and its chain, stored on every certificate row so rows have their real size. */
  leafPem: string;
  chainPem: string;
  issuer: string;
  now: Date;
}

export interface SeededSample {
  /** The id and first domain of instance i, for requests that pick known rows. */
  instance(i: number): { id: string; domain: string; ownerIndex: number };
}

const BATCH = 20_000;
const MINUTE = 60_000;

/** Statuses in roughly the mix of a service that has run for years: most issued, some in flight, some ended. */
function statusOf(i: number): InstanceStatus {
  const r = i % 100;
  if (r < 70) return 'issued';
  if (r < 80) return 'domain_verification';
  if (r < 88) return 'pending_application';
  if (r < 93) return 'validation_failed';
  if (r < 98) return 'revoked';
  return 'under_review';
}

function productOf(i: number, status: InstanceStatus): Product {
  if (status === 'under_review') return i % 2 ? 'ov' : 'ev';
  const r = i % 20;
  return r < 17 ? 'dv' : r < 19 ? 'ov' : 'ev';
}

const instanceId = (i: number) => `inst_bench${i.toString(36).padStart(8, '0')}`;
const domainsOf = (i: number) => (i % 10 === 3 ? [`s${i}.example.com`, `www.s${i}.example.com`, `api.s${i}.example.com`] : [`s${i}.example.com`]);

function colonHex(bytes: Buffer): string {
  return bytes.toString('hex').toUpperCase().replace(/(..)(?!$)/g, '$1:');
}

/** Seeds `count` instances (and a certificate for each issued or revoked one); returns how to find rows again. */
export function seedInstances(input: SeedInput): SeededSample {
  const db = new SQLite(path.join(input.dataDir, 'certdesk.db'));
  // The seed is a fixture: it skips fsync to load quickly. The server itself reopens with its own settings.
  db.pragma('synchronous = OFF');
  const insertInstance = db.prepare(
    `INSERT INTO instances (id, owner_id, product, domain_type, domain_count, term_months, status, combined_into, domains_text, submission_round, submitted_at,
      expected_issue_earliest, expected_issue_latest, failure_reason, certificate_id, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, 12, ?, NULL, ?, ?, ?, NULL, NULL, ?, ?, ?, ?)`,
  );
  const insertCertificate = db.prepare(
    `INSERT INTO certificates (id, instance_id, owner_id, serial, common_name, names, not_before, not_after, issuer, key_algorithm, signature_algorithm,
      sha1, sha256, pem, chain_pem, key_sealed, revoked_at, revocation_reason, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'ECDSA P-256', 'ecdsa-with-SHA256', ?, ?, ?, ?, NULL, ?, ?, ?)`,
  );
  // Oldest first, one a minute, ending now: about two years for a million rows.
  const start = input.now.getTime() - input.count * MINUTE;
  const insertBatch = db.transaction((from: number, to: number) => {
    const random = randomBytes((to - from) * 52);
    for (let i = from; i < to; i++) {
      const r = random.subarray((i - from) * 52, (i - from + 1) * 52);
      const status = statusOf(i);
      const owner = input.owners[i % input.owners.length] as string;
      const domains = domainsOf(i);
      const created = new Date(start + i * MINUTE);
      const at = created.toISOString();
      const id = instanceId(i);
      const hasCertificate = status === 'issued' || status === 'revoked';
      const certificateId = hasCertificate ? `cert_bench${i.toString(36).padStart(8, '0')}` : null;
      const submitted = status === 'pending_application' ? null : at;
      insertInstance.run(
        id,
        owner,
        productOf(i, status),
        domains.length > 1 ? 'multi' : 'single',
        domains.length,
        status,
        status === 'pending_application' && i % 3 === 0 ? '' : domains.join(' '),
        submitted ? 1 : 0,
        submitted,
        status === 'validation_failed' ? `Control of ${domains[0]} was not proven before the deadline.` : null,
        certificateId,
        at,
        at,
      );
      if (certificateId) {
        const notBefore = new Date(created.getTime() + 5 * MINUTE);
        const notAfter = new Date(notBefore.getTime() + 397 * 86400_000);
        const serial = Buffer.from(r.subarray(0, 16));
        serial[0] = ((serial[0] as number) & 0x3f) | 0x40;
        insertCertificate.run(
          certificateId,
          id,
          owner,
          serial.toString('hex'),
          domains[0],
          JSON.stringify(domains),
          notBefore.toISOString(),
          notAfter.toISOString(),
          input.issuer,
          colonHex(r.subarray(16, 36)),
          colonHex(Buffer.concat([r.subarray(16, 52), r.subarray(36, 52)]).subarray(0, 32)),
          input.leafPem,
          input.chainPem,
          status === 'revoked' ? notBefore.toISOString() : null,
          status === 'revoked' ? 'superseded' : null,
          notBefore.toISOString(),
        );
      }
    }
  });
  try {
    for (let from = 0; from < input.count; from += BATCH) insertBatch(from, Math.min(input.count, from + BATCH));
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
  return { instance: (i) => ({ id: instanceId(i), domain: domainsOf(i)[0] as string, ownerIndex: i % input.owners.length }) };
}
