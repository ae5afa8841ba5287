/**
 * The one error type of certdesk. Every failure a user can cause carries a
 * stable machine-readable code, an HTTP status (4xx for the caller's mistakes)
 * and a message that says what to fix. Front ends render it; nothing else
 * decides status codes.
 */
export class CertdeskError extends Error {
  readonly code: string;
  readonly status: number;
  /** The request field the error is about, e.g. `domains[2]` or `csr.pem`. */
  readonly field: string | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(
    code: string,
    message: string,
    options: { status?: number; field?: string; details?: Record<string, unknown> } = {},
  ) {
    super(message);
    this.name = 'CertdeskError';
    this.code = code;
    this.status = options.status ?? 400;
    this.field = options.field;
    this.details = options.details;
  }
}

export function badRequest(code: string, message: string, field?: string, details?: Record<string, unknown>): CertdeskError {
  return new CertdeskError(code, message, { status: 400, field, details });
}

export function notFound(what: string): CertdeskError {
  return new CertdeskError('NOT_FOUND', `${what} was not found. Check the id; it may belong to another account.`, { status: 404 });
}

export function forbidden(message: string): CertdeskError {
  return new CertdeskError('FORBIDDEN', message, { status: 403 });
}

export function conflict(code: string, message: string): CertdeskError {
  return new CertdeskError(code, message, { status: 409 });
}
