/** REST routes for the reviewer desk. */
import type { FastifyInstance } from 'fastify';
import type { RaContext } from '../../ra/context.js';
import { readDocument } from '../../ra/applications.js';
import { approve, recordPhoneVerification, reject, reviewDetail, reviewQueue } from '../../ra/review_desk.js';
import { actorOf } from '../auth.js';
import { IdParams, PhoneBody, RejectBody } from '../schemas.js';

const tags = ['reviews'];

export function reviewRoutes(app: FastifyInstance, ctx: RaContext): void {
  app.get('/api/v1/reviews', { schema: { tags, summary: 'OV/EV applications waiting for review, oldest first' } }, async (req) => ({ items: await reviewQueue(ctx, actorOf(req)) }));

  app.get<{ Params: IdParams }>('/api/v1/reviews/:id', { schema: { tags, summary: 'An application as the reviewer reads it', params: IdParams } }, async (req) => reviewDetail(ctx, actorOf(req), req.params.id));

  app.get<{ Params: IdParams & { documentId: string } }>('/api/v1/reviews/:id/documents/:documentId', { schema: { tags, summary: 'A qualification document of the application' } }, async (req, reply) => {
    await reviewDetail(ctx, actorOf(req), req.params.id);
    const doc = await readDocument(ctx, req.params.id, req.params.documentId);
    return reply.header('content-type', doc.mime).header('x-content-type-options', 'nosniff').send(doc.content);
  });

  app.post<{ Params: IdParams; Body: { result: string; note?: string } }>('/api/v1/reviews/:id/phone', { schema: { tags, summary: 'Record the phone verification', params: IdParams, body: PhoneBody } }, async (req) =>
    recordPhoneVerification(ctx, actorOf(req), req.params.id, req.body),
  );

  app.post<{ Params: IdParams }>('/api/v1/reviews/:id/approve', { schema: { tags, summary: 'Approve (EV needs two different reviewers); the reply says whether it issued and lists in waitingFor what is still missing', params: IdParams } }, async (req) => approve(ctx, actorOf(req), req.params.id));

  app.post<{ Params: IdParams; Body: { reason: string } }>('/api/v1/reviews/:id/reject', { schema: { tags, summary: 'Reject with a reason the subscriber sees', params: IdParams, body: RejectBody } }, async (req) => {
    await reject(ctx, actorOf(req), req.params.id, req.body.reason);
    return reviewDetail(ctx, actorOf(req), req.params.id);
  });
}
