/**
 * A database that cannot be reached, or that drops the connection, is a
 * passing condition the caller can retry, not a fault in the request: it is
 * answered with 503 DATABASE_UNAVAILABLE, and the service keeps running.
 */
import { CertdeskError } from '../errors.js';

export function databaseUnavailable(): CertdeskError {
  return new CertdeskError('DATABASE_UNAVAILABLE', 'The database is not reachable right now; retry in a moment. If this persists, the operator finds the cause in the service log.', {
    status: 503,
  });
}

// SQLSTATE: connection exceptions (class 08), the server shutting down or starting (57P01-57P03), too many connections (53300).
const LOST_CONNECTION_STATES = /^(08[0-9A-Z]{3}|57P0[123]|53300)$/;
const SOCKET_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/** Whether a driver error says the connection to the database was lost or could not be made, as opposed to a statement being refused. */
export function isConnectionLoss(error: unknown): boolean {
  if (!error || typeof error !== 'object') return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && (LOST_CONNECTION_STATES.test(code) || SOCKET_ERRORS.has(code))) return true;
  // node-postgres reports a socket that closed under a query without a code.
  return typeof message === 'string' && /^Connection terminated\b|^Client has encountered a connection error/.test(message);
}
