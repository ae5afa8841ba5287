/** REST routes for issued certificates and the public CA files (certificates and CRLs). */
import type { FastifyInstance } from 'fastify';
import type { RaContext } from '../../ra/context.js';
import { getCertificate, listCertificates, revokeCertificate, revokedEntries } from '../../ra/issuance.js';
import { actorOf } from '../auth.js';
import { IdParams, RevokeBody } from '../schemas.js';

export function certificateRoutes(app: FastifyInstance, ctx: RaContext): void {
  const tags = ['certificates'];
  app.get('/api/v1/certificates', { schema: { tags, summary: 'Issued certificates' } }, async (req) => ({ items: await listCertificates(ctx, actorOf(req)) }));
  app.get<{ Params: IdParams }>('/api/v1/certificates/:id', { schema: { tags, summary: 'Certificate detail: serial, names, validity, issuer, key, fingerprints', params: IdParams } }, async (req) =>
    getCertificate(ctx, actorOf(req), req.params.id),
  );
  app.post<{ Params: IdParams; Body: { reason?: string } }>('/api/v1/certificates/:id/revoke', { schema: { tags, summary: 'Revoke with a reason', params: IdParams, body: RevokeBody } }, async (req) =>
    revokeCertificate(ctx, actorOf(req), req.params.id, req.body?.reason),
  );
}

export function caRoutes(app: FastifyInstance, ctx: RaContext): void {
  const tags = ['ca'];
  const pem = (path: string, summary: string, body: () => string) =>
    app.get(path, { schema: { tags, summary } }, async (_req, reply) => reply.header('content-type', 'application/x-pem-file').send(body()));
  const der = (path: string, summary: string, type: string, body: () => Buffer | Promise<Buffer>) =>
    app.get(path, { schema: { tags, summary } }, async (_req, reply) => reply.header('content-type', type).send(await body()));
  pem('/ca/root.pem', 'Root CA certificate (PEM)', () => ctx.ca.rootPem);
  pem('/ca/intermediate.pem', 'Intermediate CA certificate (PEM)', () => ctx.ca.intermediatePem);
  pem('/ca/chain.pem', 'Intermediate followed by root (PEM)', () => ctx.ca.chainPem);
  der('/ca/root.crt', 'Root CA certificate (DER), named in the AIA of the intermediate', 'application/pkix-cert', () => ctx.ca.rootDer);
  der('/ca/intermediate.crt', 'Intermediate CA certificate (DER), named in the AIA of every certificate', 'application/pkix-cert', () => ctx.ca.intermediateDer);
  der('/ca/intermediate.crl', 'CRL of the intermediate, named in every certificate', 'application/pkix-crl', () => ctx.ca.intermediateCrl(() => revokedEntries(ctx)));
  der('/ca/root.crl', 'CRL of the root', 'application/pkix-crl', () => ctx.ca.rootCrl());
  app.get('/api/v1/ca', { schema: { tags, summary: 'The CA hierarchy' } }, async () => {
    const h = ctx.ca.describeHierarchy();
    return { root: { ...h.root, pem: ctx.ca.rootPem }, intermediate: { ...h.intermediate, pem: ctx.ca.intermediatePem } };
  });
}
