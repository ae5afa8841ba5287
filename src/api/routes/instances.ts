/** REST routes for instances: buy, list, detail, apply, submit, verify, withdraw, reissue, progress, documents, download. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { authorizationLetterPdf } from '../../bundle/authorization_letter.js';
import { badRequest, CertdeskError } from '../../errors.js';
import { applicationView, deleteDocument, loadApplication, readDocument, saveApplication, submitApplication, uploadDocument, withdrawApplication, type ApplicationInput, type CsrInput } from '../../ra/applications.js';
import type { RaContext } from '../../ra/context.js';
import { verifyNow } from '../../ra/dcv.js';
import { createdInstanceDetail, detailReadBack, instanceDetail, instanceProgress, type DetailReadBack } from '../../ra/instance_view.js';
import { combineInstances, createInstance, listInstances, loadOwnedInstance, loadVisibleInstance } from '../../ra/instances.js';
import { downloadBundle } from '../../ra/issuance.js';
import { reissueCertificate } from '../../ra/reissue.js';
import { actorOf } from '../auth.js';
import { ApplicationBody, CombineBody, CreateInstanceBody, DownloadQuery, errorResponses, IdParams, ListInstancesQuery, type ListInstancesQuery as ListQuery, ReissueBody, successReply } from '../schemas.js';

const tags = ['instances'];

export function instanceRoutes(app: FastifyInstance, ctx: RaContext): void {
  app.post<{ Body: CreateInstanceBody }>('/api/v1/instances', { schema: { tags, summary: 'Grant (buy) a certificate instance', body: CreateInstanceBody, response: { ...successReply(201, 'The new instance, as GET /api/v1/instances/{id} shows it'), ...errorResponses } } }, async (req, reply) => {
    const actor = actorOf(req);
    return reply.status(201).send(createdInstanceDetail(ctx, actor, await createInstance(ctx, actor, req.body)));
  });

  app.get<{ Querystring: ListQuery }>('/api/v1/instances', { schema: { tags, summary: 'List instances, filtered by status and domain, paginated', querystring: ListInstancesQuery } }, async (req) =>
    listInstances(ctx, actorOf(req), req.query),
  );

  app.post<{ Body: { instanceIds: string[] } }>('/api/v1/instances/combine', { schema: { tags, summary: 'Combine OV/EV instances into one application', body: CombineBody } }, async (req) => {
    const primary = await combineInstances(ctx, actorOf(req), req.body.instanceIds);
    return instanceDetail(ctx, actorOf(req), primary.id);
  });

  app.get<{ Params: IdParams }>('/api/v1/instances/:id', { schema: { tags, summary: 'Instance detail: application, validation records, review state, certificate', params: IdParams } }, async (req) =>
    instanceDetail(ctx, actorOf(req), req.params.id),
  );

  app.get<{ Params: IdParams }>('/api/v1/instances/:id/application', { schema: { tags, summary: 'The saved application', params: IdParams } }, async (req) => {
    await loadVisibleInstance(ctx, actorOf(req), req.params.id);
    const row = await loadApplication(ctx, req.params.id);
    if (!row) throw badRequest('APPLICATION_NOT_SAVED', 'No application has been saved on this instance yet; PUT one first.');
    return applicationView(row);
  });

  app.put<{ Params: IdParams; Body: ApplicationBody }>('/api/v1/instances/:id/application', { schema: { tags, summary: 'Save the application (domains, contact, organization, CSR)', params: IdParams, body: ApplicationBody } }, async (req) =>
    saveApplication(ctx, actorOf(req), req.params.id, req.body as ApplicationInput),
  );

  // The step runs the reads of the detail it replies with in its own transaction's trip, where it ends in one.
  const action = (path: string, summary: string, run: (id: string, actor: ReturnType<typeof actorOf>, readBack: DetailReadBack) => Promise<void>) =>
    app.post<{ Params: IdParams }>(`/api/v1/instances/:id/${path}`, { schema: { tags, summary, params: IdParams } }, async (req) => {
      const actor = actorOf(req);
      const readBack = detailReadBack(ctx, req.params.id);
      await run(req.params.id, actor, readBack);
      return instanceDetail(ctx, actor, req.params.id, readBack);
    });
  action('submit', 'Submit the application (DV: domain verification, or issued at once when every name is already proven; OV/EV: review)', (id, actor, readBack) => submitApplication(ctx, actor, id, readBack));
  action('verify', 'Check the DNS records and files now', (id, actor, readBack) => verifyNow(ctx, actor, id, readBack));
  action('withdraw', 'Withdraw before issuance (the application is kept for editing), or withdraw a reissue (the instance keeps its certificate)', (id, actor) => withdrawApplication(ctx, actor, id));

  app.post<{ Params: IdParams; Body: ReissueBody }>(
    '/api/v1/instances/:id/reissue',
    {
      schema: {
        tags,
        summary: 'Reissue within the purchased term: a new certificate for the same names (send {} for a new key of the same kind); proofs up to 398 days old are reused, older ones are asked again',
        params: IdParams,
        body: ReissueBody,
      },
    },
    async (req) => {
      const actor = actorOf(req);
      const readBack = detailReadBack(ctx, req.params.id);
      await reissueCertificate(ctx, actor, req.params.id, req.body as { csr?: CsrInput }, readBack);
      return instanceDetail(ctx, actor, req.params.id, readBack);
    },
  );

  app.get<{ Params: IdParams }>('/api/v1/instances/:id/progress', { schema: { tags, summary: 'The timeline of every step', params: IdParams } }, async (req) =>
    instanceProgress(ctx, actorOf(req), req.params.id),
  );

  app.post<{ Params: IdParams }>('/api/v1/instances/:id/documents', { schema: { tags, summary: 'Upload a qualification document (multipart: kind, file; PNG or JPEG up to 500 KB)', params: IdParams, consumes: ['multipart/form-data'], response: successReply(201, 'The stored document: id, kind, file name, type and size') } }, async (req, reply) => {
    const actor = actorOf(req);
    const upload = await readUpload(req);
    return reply.status(201).send(await uploadDocument(ctx, actor, req.params.id, upload));
  });

  app.get<{ Params: IdParams & { documentId: string } }>('/api/v1/instances/:id/documents/:documentId', { schema: { tags, summary: 'Read an uploaded document' } }, async (req, reply) => {
    await loadVisibleInstance(ctx, actorOf(req), req.params.id);
    const doc = await readDocument(ctx, req.params.id, req.params.documentId);
    return reply.header('content-type', doc.mime).header('x-content-type-options', 'nosniff').send(doc.content);
  });

  app.delete<{ Params: IdParams & { documentId: string } }>('/api/v1/instances/:id/documents/:documentId', { schema: { tags, summary: 'Delete an uploaded document', response: successReply(204, 'Deleted') } }, async (req, reply) => {
    await deleteDocument(ctx, actorOf(req), req.params.id, req.params.documentId);
    return reply.status(204).send();
  });

  app.get<{ Params: IdParams }>('/api/v1/instances/:id/authorization-letter', { schema: { tags, summary: 'Pre-filled authorization letter (PDF) to print, stamp and upload', params: IdParams } }, async (req, reply) => {
    const instance = await loadOwnedInstance(ctx, actorOf(req), req.params.id);
    const row = await loadApplication(ctx, instance.id);
    const app = row ? applicationView(row) : null;
    const pdf = authorizationLetterPdf({
      ...(app?.organization ? { organizationName: app.organization.name } : {}),
      ...(app ? { applicantName: app.contact.name, applicantEmail: app.contact.email, applicantPhone: app.contact.phone } : {}),
      domains: app ? app.domains.map((d) => d.name) : [],
      product: instance.product.toUpperCase(),
      date: ctx.clock.now(),
      caName: ctx.ca.describeHierarchy().intermediate.subject,
    });
    return reply.header('content-type', 'application/pdf').header('content-disposition', `attachment; filename="authorization-letter-${instance.id}.pdf"`).send(pdf);
  });

  app.get<{ Params: IdParams; Querystring: { server: string } }>('/api/v1/instances/:id/download', { schema: { tags, summary: 'Download the certificate as a zip for a server type', params: IdParams, querystring: DownloadQuery }  }, async (req, reply) => {
    const { fileName, zip } = await downloadBundle(ctx, actorOf(req), req.params.id, req.query.server);
    return reply.header('content-type', 'application/zip').header('content-disposition', `attachment; filename="${fileName}"`).header('cache-control', 'no-store').send(zip);
  });
}

/** The uploaded document and its kind from a multipart body. */
async function readUpload(req: FastifyRequest): Promise<{ kind: string; fileName: string; bytes: Buffer }> {
  try {
    const file = await req.file();
    if (!file) throw badRequest('FILE_REQUIRED', 'Attach the document as the multipart field "file".', 'file');
    const bytes = await file.toBuffer();
    const kindField = file.fields.kind;
    const kind = kindField && !Array.isArray(kindField) && 'value' in kindField ? String(kindField.value) : 'business_license';
    return { kind, fileName: file.filename, bytes };
  } catch (error) {
    throw malformedUpload(error);
  }
}

/**
 * The multipart parser (busboy) reports a body that is not well-formed multipart
 * with plain Errors; @fastify/multipart's limits carry FST_ codes and statuses
 * of their own, which the error handler maps.
 */
function malformedUpload(error: unknown): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  if (error instanceof CertdeskError || (typeof code === 'string' && code.startsWith('FST_'))) return error;
  const reason = error instanceof Error ? error.message : String(error);
  return badRequest('MULTIPART_MALFORMED', `The upload is not well-formed multipart/form-data (${reason}); send the document as the field "file" and its kind as the field "kind", as a browser form or curl -F does.`, 'file');
}
