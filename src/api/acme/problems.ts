/** Every ACME failure as an RFC 7807 problem document with its RFC 8555 error type. */
import type { FastifyError } from 'fastify';
import { CertdeskError } from '../../errors.js';
import type { AcmeErrorType } from '../../ra/acme/errors.js';
import { databaseUnavailable, isConnectionLoss } from '../../store/database_unavailable.js';
import { SUPPORTED_ALGORITHMS } from './jws_rules.js';

export interface Problem {
  status: number;
  body: { type: string; detail: string; status: number; algorithms?: string[] };
  retryAfterSeconds?: number;
  /** The account the problem is about (keyChange to a key in use), sent as its URL in Location (RFC 8555 §7.3.5). */
  accountId?: string;
}

const ERROR_PREFIX = 'urn:ietf:params:acme:error:';

function problem(type: AcmeErrorType, detail: string, status: number): Problem {
  return { status, body: { type: ERROR_PREFIX + type, detail, status, ...(type === 'badSignatureAlgorithm' ? { algorithms: [...SUPPORTED_ALGORITHMS] } : {}) } };
}

/** Maps what the RA threw (or fastify's own request errors) to the problem a client sees. */
export function toProblem(err: unknown): Problem {
  if (err instanceof CertdeskError) {
    const acmeType = err.details?.acmeType as AcmeErrorType | undefined;
    if (acmeType) {
      const { retryAfterSeconds, accountId } = err.details ?? {};
      return {
        ...problem(acmeType, err.message, err.status),
        ...(typeof retryAfterSeconds === 'number' ? { retryAfterSeconds } : {}),
        ...(typeof accountId === 'string' ? { accountId } : {}),
      };
    }
    if (err.code.startsWith('CSR_')) return problem('badCSR', err.message, 400);
    if (err.code === 'ALREADY_REVOKED') return problem('alreadyRevoked', err.message, 400);
    if (err.code === 'REVOCATION_REASON_INVALID') return problem('badRevocationReason', err.message, 400);
    if (err.status < 500) return problem(err.status === 403 || err.status === 401 ? 'unauthorized' : 'malformed', err.message, err.status);
    return problem('serverInternal', err.message, err.status);
  }
  if (isConnectionLoss(err)) return toProblem(databaseUnavailable());
  const fastifyError = err as Partial<FastifyError>;
  if (fastifyError.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return problem('malformed', 'Send ACME requests as application/jose+json (a flattened JWS).', 415);
  if (typeof fastifyError.statusCode === 'number' && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    return problem('malformed', `The request is malformed: ${fastifyError.message ?? 'unreadable body'}.`, fastifyError.statusCode);
  }
  return problem('serverInternal', 'certdesk hit an unexpected error; the operator can find it in the service log.', 500);
}
