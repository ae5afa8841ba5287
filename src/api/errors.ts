/** Turns every failure into the one error body, `{ error: { code, message, field?, details? } }`, with a 4xx for the caller's mistakes. */
import type { FastifyError, FastifyInstance } from 'fastify';
import { CertdeskError } from '../errors.js';
import { databaseUnavailable, isConnectionLoss } from '../store/database_unavailable.js';

export interface ErrorBody {
  error: { code: string; message: string; field?: string; details?: Record<string, unknown> };
}

function body(code: string, message: string, field?: string, details?: Record<string, unknown>): ErrorBody {
  return { error: { code, message, ...(field ? { field } : {}), ...(details ? { details } : {}) } };
}

/** Fastify's own client errors, renamed to stable codes with a message that says what to fix. */
function fromFastify(err: FastifyError): { status: number; body: ErrorBody } | null {
  if (err.validation) {
    const first = err.validation[0];
    const where = (first?.instancePath || '').replace(/^\//, '').replace(/\//g, '.');
    const field = [err.validationContext, where || (first?.params as { missingProperty?: string } | undefined)?.missingProperty].filter(Boolean).join('.');
    const allowed = (first?.params as { allowedValues?: unknown[] } | undefined)?.allowedValues;
    // A missing or non-object body fails the body schema's type as a whole; Ajv's "body must be object" does not say what to send.
    if (err.validationContext === 'body' && !where && first?.keyword === 'type') {
      return { status: 400, body: body('VALIDATION_FAILED', 'Send the request body as a JSON object with Content-Type: application/json; {} when every field is optional.', 'body') };
    }
    const message = `${field || 'The request'} ${first?.message ?? 'is invalid'}${allowed ? `: ${allowed.join(', ')}` : ''}.`;
    return { status: 400, body: body('VALIDATION_FAILED', message, field || undefined) };
  }
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { status: 400, body: body('JSON_INVALID', 'The request body is not valid JSON; send a JSON object with Content-Type: application/json.') };
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, body: body('BODY_TOO_LARGE', 'The request body is too large.') };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, body: body('MEDIA_TYPE_UNSUPPORTED', 'Send JSON (application/json), or multipart/form-data for document uploads.') };
    case 'FST_REQ_FILE_TOO_LARGE':
      return { status: 413, body: body('DOCUMENT_TOO_LARGE', 'The file is larger than 500 KB; upload a PNG or JPEG of at most 500 KB.') };
    case 'FST_INVALID_MULTIPART_CONTENT_TYPE':
      return { status: 415, body: body('MULTIPART_REQUIRED', 'Upload documents as multipart/form-data with a "file" field and a "kind" field.') };
  }
  if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
    return { status: err.statusCode, body: body('BAD_REQUEST', err.message) };
  }
  return null;
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err instanceof CertdeskError) {
      return reply.status(err.status).send(body(err.code, err.message, err.field, err.details));
    }
    const known = fromFastify(err);
    if (known) return reply.status(known.status).send(known.body);
    if (isConnectionLoss(err)) {
      req.log.warn({ err: err.message }, 'database connection lost during a request');
      const unavailable = databaseUnavailable();
      return reply.status(unavailable.status).send(body(unavailable.code, unavailable.message));
    }
    req.log.error({ err }, 'unexpected error');
    return reply.status(500).send(body('INTERNAL_ERROR', 'certdesk hit an unexpected error; the operator can find it in the service log.'));
  });
  app.setNotFoundHandler((req, reply) => {
    reply.status(404).send(body('ROUTE_NOT_FOUND', `There is no ${req.method} ${req.url.split('?')[0]}; see /api/v1/openapi.json for the API.`));
  });
}
