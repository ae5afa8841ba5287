/** A throwaway root → intermediate hierarchy for tests that issue certificates without a running service. */
import { createPrivateKey } from 'node:crypto';
import { createIntermediateCa, createRootCa } from '../../src/pki/ca_certificates.js';
import { issuerHandle, type IssuerHandle } from '../../src/pki/certificate.js';
import type { KeyAlgorithm } from '../../src/pki/keys.js';
import { randomSerial } from '../../src/pki/serial.js';

const DAY = 86_400_000;

export interface TestHierarchy {
  rootPem: string;
  intermediatePem: string;
  intermediate: IssuerHandle;
}

/**
 * Both CAs are valid from `notBefore` (default: a day ago, so openssl, which
 * checks against the real time, accepts them) for ten and five years.
 */
export function testHierarchy(rootAlg: KeyAlgorithm, intermediateAlg: KeyAlgorithm, options: { organization?: string; notBefore?: Date } = {}): TestHierarchy {
  const organization = options.organization ?? 'certdesk tests';
  const notBefore = options.notBefore ?? new Date(Math.floor(Date.now() / 1000) * 1000 - DAY);
  const root = createRootCa({
    commonName: 'Test Root',
    organization,
    country: 'US',
    keyAlgorithm: rootAlg,
    notBefore,
    notAfter: new Date(notBefore.getTime() + 3650 * DAY),
    serial: randomSerial(),
  });
  const intermediate = createIntermediateCa({
    commonName: 'Test Issuing CA',
    organization,
    keyAlgorithm: intermediateAlg,
    notBefore,
    notAfter: new Date(notBefore.getTime() + 1825 * DAY),
    serial: randomSerial(),
    issuer: issuerHandle(root.certPem, createPrivateKey(root.privateKeyPem)),
    aiaIssuerUrl: 'http://ca.test/root.crt',
    crlUrl: 'http://ca.test/root.crl',
  });
  return {
    rootPem: root.certPem,
    intermediatePem: intermediate.certPem,
    intermediate: issuerHandle(intermediate.certPem, createPrivateKey(intermediate.privateKeyPem)),
  };
}
