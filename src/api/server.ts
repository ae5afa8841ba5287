/** The HTTP front end: REST v1 with its OpenAPI document, the public CA files, and health. */
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import cookie from '@fastify/cookie';
import multipart from '@fastify/multipart';
import swagger from '@fastify/swagger';
import type { RaContext } from '../ra/context.js';
import { MAX_DOCUMENT_BYTES } from '../ra/documents.js';
import { authenticate } from './auth.js';
import { consoleAssets } from './console_assets.js';
import { durableReplies } from './durable_replies.js';
import { installErrorHandling } from './errors.js';
import { acmeRoutes } from './acme/routes.js';
import { accountRoutes } from './routes/accounts.js';
import { caRoutes, certificateRoutes } from './routes/certificates.js';
import { consoleRoutes } from './routes/console.js';
import { instanceRoutes } from './routes/instances.js';
import { reviewRoutes } from './routes/reviews.js';
import { signInLimiter } from './sign_in_limit.js';
import { ErrorResponse } from './schemas.js';
import { documentReplies } from './openapi_replies.js';

export async function buildServer(ctx: RaContext, options: { version: string }): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: ctx.logger as FastifyBaseLogger,
    // Per-request lines are off: the access log belongs to the reverse proxy, and bodies may carry secrets.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
    trustProxy: false,
    // Scalars are coerced (query strings), arrays never: `domains` may be one
    // text block or a list, and wrapping the text in a list would change its meaning.
    ajv: { customOptions: { coerceTypes: true } },
  });
  installErrorHandling(app);
  durableReplies(app, ctx.durability);
  app.addSchema(ErrorResponse);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'certdesk API', version: options.version, description: 'Apply for, validate, review, issue, download and revoke TLS certificates.' },
      servers: [{ url: ctx.publicUrl }],
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'Token from "certdesk token create" or POST /api/v1/auth/token' } } },
      security: [{ bearer: [] }],
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
    transform: documentReplies,
  });
  // One byte over the limit is read so an oversized file is refused as such rather than truncated.
  await app.register(multipart, { limits: { fileSize: MAX_DOCUMENT_BYTES + 1, files: 1, fields: 5 }, throwFileSizeLimit: false });
  await app.register(cookie);
  const signInGuard = await signInLimiter(app);
  app.decorateRequest('actor', null);
  app.addHook('onRequest', authenticate(ctx));

  app.get('/healthz', { schema: { hide: true }, config: { reportsNoStoredState: true } }, async () => ({ status: 'ok' }));
  app.get('/api/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  instanceRoutes(app, ctx);
  reviewRoutes(app, ctx);
  certificateRoutes(app, ctx);
  caRoutes(app, ctx);
  accountRoutes(app, ctx, signInGuard);
  acmeRoutes(app, ctx);
  consoleRoutes(app, ctx, signInGuard);
  await consoleAssets(app);
  return app;
}
