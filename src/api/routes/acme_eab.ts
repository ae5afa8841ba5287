/** REST routes for ACME External Account Binding keys. */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { createEabKey, listEabKeys } from '../../ra/acme/eab.js';
import type { RaContext } from '../../ra/context.js';
import { actorOf } from '../auth.js';
import { errorResponses } from '../schemas.js';

const tags = ['acme'];

const CreateEabBody = Type.Object({
  owner: Type.Optional(Type.String({ description: 'Email of the subscriber the key draws on (admins); subscribers omit it' })),
  instanceId: Type.Optional(Type.String({ description: 'Draw only on this DV instance' })),
});

const EabKey = Type.Object({
  kid: Type.String({ description: 'Key id for the ACME client (certbot --eab-kid, lego --kid)' }),
  owner: Type.String(),
  instanceId: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String(),
  lastUsedAt: Type.Union([Type.String(), Type.Null()]),
});

const CreatedEabKey = Type.Intersect([EabKey, Type.Object({ hmacKey: Type.String({ description: 'base64url HMAC key (certbot --eab-hmac-key, lego --hmac); shown only now' }) })]);

export function acmeEabRoutes(app: FastifyInstance, ctx: RaContext): void {
  app.post<{ Body: { owner?: string; instanceId?: string } }>(
    '/api/v1/acme/eab',
    { schema: { tags, summary: 'Create an ACME External Account Binding key (subscribers for themselves, admins for anyone)', body: CreateEabBody, response: { 201: CreatedEabKey, ...errorResponses } } },
    async (req, reply) => reply.status(201).send(await createEabKey(ctx, actorOf(req), req.body)),
  );
  app.get('/api/v1/acme/eab', { schema: { tags, summary: 'ACME EAB keys (yours; admins see all)', response: { 200: Type.Object({ items: Type.Array(EabKey) }) } } }, async (req) => ({
    items: await listEabKeys(ctx, actorOf(req)),
  }));
}
