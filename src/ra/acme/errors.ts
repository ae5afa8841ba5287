/**
 * ACME failures raised inside the registration authority. They are ordinary
 * CertdeskErrors whose details name the RFC 8555 §6.7 error type; the ACME
 * front end turns them into problem documents.
 */
import { CertdeskError } from '../../errors.js';

export type AcmeErrorType =
  | 'accountDoesNotExist'
  | 'alreadyReplaced'
  | 'alreadyRevoked'
  | 'badCSR'
  | 'badNonce'
  | 'badPublicKey'
  | 'badRevocationReason'
  | 'badSignatureAlgorithm'
  | 'caa'
  | 'connection'
  | 'dns'
  | 'externalAccountRequired'
  | 'incorrectResponse'
  | 'invalidContact'
  | 'malformed'
  | 'orderNotReady'
  | 'rateLimited'
  | 'rejectedIdentifier'
  | 'serverInternal'
  | 'tls'
  | 'unauthorized'
  | 'unsupportedContact'
  | 'unsupportedIdentifier'
  | 'userActionRequired';

const DEFAULT_STATUS: Partial<Record<AcmeErrorType, number>> = {
  unauthorized: 403,
  alreadyReplaced: 409,
  orderNotReady: 403,
  caa: 403,
  rateLimited: 429,
  serverInternal: 500,
};

export function acmeError(type: AcmeErrorType, detail: string, options: { status?: number; details?: Record<string, unknown> } = {}): CertdeskError {
  const code = `ACME_${type.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase()}`;
  return new CertdeskError(code, detail, { status: options.status ?? DEFAULT_STATUS[type] ?? 400, details: { ...options.details, acmeType: type } });
}

/** The problem document stored on a failed challenge or order (RFC 8555 §6.7). */
export interface StoredProblem {
  type: string;
  detail: string;
  status: number;
}

export function storedProblem(type: AcmeErrorType, detail: string, status = 403): StoredProblem {
  return { type: `urn:ietf:params:acme:error:${type}`, detail, status };
}
