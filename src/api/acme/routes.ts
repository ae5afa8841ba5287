/**
 * The ACME endpoint (RFC 8555) under /acme: its own content type, its own
 * error documents (RFC 7807 problems) and a fresh Replay-Nonce on every
 * response. Thin: verify the JWS, call the RA, render.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { changeAccountKey, newAccount, updateAccount } from '../../ra/acme/accounts.js';
import { deactivateAuthorization, loadAuthorization, loadChallenge, respondToChallenge } from '../../ra/acme/authorizations.js';
import { acmeError } from '../../ra/acme/errors.js';
import { certificateChain, finalizeOrder, getOrder, listOrderIds, newOrder } from '../../ra/acme/orders.js';
import { renewalInfo } from '../../ra/acme/renewal_info.js';
import { revokeByAcme } from '../../ra/acme/revocation.js';
import type { RaContext } from '../../ra/context.js';
import type { AcmeAccountTable } from '../../store/schema.js';
import { acmeEabRoutes } from '../routes/acme_eab.js';
import type { JWK } from 'jose';
import { spkiOf, thumbprintOf, verifyKeyChange, verifyRequest, type VerifiedRequest } from './jws.js';
import type { KeyRule } from './jws_rules.js';
import { NonceStore } from './nonces.js';
import { toProblem } from './problems.js';
import { accountJson, AcmeUrls, authzJson, challengeJson, directoryJson, orderJson } from './render.js';

type IdRequest = FastifyRequest<{ Params: { id: string } }>;

const RENEWAL_RETRY_AFTER_SECONDS = 6 * 3600;

/** The ACME endpoint, and the REST routes that make its EAB keys. */
export function acmeRoutes(app: FastifyInstance, ctx: RaContext): void {
  acmeEabRoutes(app, ctx);
  void app.register(
    async (acme) => {
      const urls = new AcmeUrls(ctx.publicUrl);
      const nonces = new NonceStore(ctx.clock);

      // RFC 8555 §6.2: a signed request is application/jose+json and nothing else, so fastify's default JSON and text parsers go.
      acme.removeAllContentTypeParsers();
      acme.addContentTypeParser('application/jose+json', { parseAs: 'string' }, (_req, body, done) => {
        try {
          done(null, JSON.parse(body as string));
        } catch {
          done(acmeError('malformed', 'The request body is not JSON; send a flattened JWS.'), undefined);
        }
      });
      acme.addHook('onSend', async (_req, reply, payload) => {
        reply.header('Replay-Nonce', nonces.issue());
        const link = reply.getHeader('Link');
        reply.header('Link', [...(link === undefined ? [] : [String(link)]), `<${urls.directory}>;rel="index"`]);
        reply.header('Cache-Control', 'no-store');
        return payload;
      });
      acme.setErrorHandler((err, req, reply) => {
        const p = toProblem(err);
        if (p.status >= 500) req.log.error({ err }, 'unexpected ACME error');
        if (p.retryAfterSeconds !== undefined) reply.header('Retry-After', String(p.retryAfterSeconds));
        if (p.accountId !== undefined) reply.header('Location', urls.account(p.accountId));
        return reply.status(p.status).type('application/problem+json').send(p.body);
      });
      acme.setNotFoundHandler((req, reply) => {
        reply.status(404).type('application/problem+json').send({ type: 'urn:ietf:params:acme:error:malformed', detail: `There is no ACME resource ${req.method} ${req.url}; start at ${urls.directory}.`, status: 404 });
      });
      // Without it a GET below /acme/ would reach the console's catch-all route and get the REST 404 instead of a problem document.
      acme.get('/*', { schema: { hide: true } }, (_req, reply) => reply.callNotFound());

      const hide = { schema: { hide: true } };
      const hiddenStateless = { ...hide, config: { reportsNoStoredState: true } };
      const verified = (req: FastifyRequest, keys: KeyRule = 'kid') => verifyRequest(ctx, nonces, req.body, { url: ctx.publicUrl + req.url, keys, accountUrlPrefix: urls.accountPrefix });
      const signedByAccount = async (req: FastifyRequest): Promise<{ request: VerifiedRequest; account: AcmeAccountTable }> => {
        const request = await verified(req);
        return { request, account: request.account as AcmeAccountTable };
      };

      acme.get('/directory', hiddenStateless, async () => directoryJson(urls, { externalAccountRequired: ctx.settings.current().acmeExternalAccountRequired, caaIdentities: ctx.settings.current().caaIdentities }));
      acme.get('/terms', hiddenStateless, async (_req, reply) =>
        reply.type('text/plain; charset=utf-8').send(
          `certdesk ACME terms of service\n\nCertificates are issued only for names whose control the account proves, and only as the subscriber's DV instances allow.\nKeep your account key and EAB credentials secret. Revoke a certificate at once if its private key is compromised.\nThe operator may revoke certificates that were issued in violation of these terms or of the CA/Browser Forum Baseline Requirements.\n`,
        ),
      );
      // Content-Length: 0 keeps the connection: without it Node's HTTP client (acme-client's) drops the socket after the HEAD, and every signed request paid a new connection.
      acme.head('/new-nonce', hiddenStateless, async (_req, reply) => reply.status(200).header('content-length', '0').send());
      acme.get('/new-nonce', { ...hiddenStateless, exposeHeadRoute: false }, async (_req, reply) => reply.status(204).send());

      acme.post('/new-account', hide, async (req, reply) => {
        const request = await verified(req, 'jwk');
        const { account, created } = await newAccount(ctx, { jwk: request.jwk!, thumbprint: request.thumbprint!, payload: request.payload ?? {}, newAccountUrl: urls.newAccount });
        return reply.status(created ? 201 : 200).header('Location', urls.account(account.id)).send(accountJson(urls, account));
      });
      acme.post('/acct/:id', hide, async (req: IdRequest, reply) => {
        const { request, account } = await signedByAccount(req);
        if (account.id !== req.params.id) throw acmeError('unauthorized', 'The kid of the request is not the account being changed.');
        const updated = request.payload ? await updateAccount(ctx, account, request.payload) : account;
        return reply.header('Location', urls.account(account.id)).send(accountJson(urls, updated));
      });
      acme.post('/acct/:id/orders', hide, async (req: IdRequest) => {
        const { account } = await signedByAccount(req);
        if (account.id !== req.params.id) throw acmeError('unauthorized', 'An account can list only its own orders.');
        return { orders: (await listOrderIds(ctx, account)).map((id) => urls.order(id)) };
      });
      acme.post('/key-change', hide, async (req, reply) => {
        const { request, account } = await signedByAccount(req);
        const { newJwk, change } = await verifyKeyChange(request.payload, urls.keyChange);
        if (change.account !== urls.account(account.id)) throw acmeError('malformed', 'keyChange: the inner payload must name this account.');
        const updated = await changeAccountKey(ctx, account, { oldThumbprint: await thumbprintOf(change.oldKey as JWK), newJwk, newThumbprint: await thumbprintOf(newJwk) });
        return reply.header('Location', urls.account(account.id)).send(accountJson(urls, updated));
      });

      acme.post('/new-order', hide, async (req, reply) => {
        const { request, account } = await signedByAccount(req);
        const view = await newOrder(ctx, account, request.payload ?? {});
        return reply.status(201).header('Location', urls.order(view.order.id)).send(orderJson(urls, view));
      });
      acme.post('/order/:id', hide, async (req: IdRequest) => orderJson(urls, await getOrder(ctx, (await signedByAccount(req)).account, req.params.id)));
      acme.post('/order/:id/finalize', hide, async (req: IdRequest, reply) => {
        const { request, account } = await signedByAccount(req);
        const view = await finalizeOrder(ctx, account, req.params.id, request.payload?.csr, (id) => urls.certificate(id));
        return reply.header('Location', urls.order(view.order.id)).send(orderJson(urls, view));
      });
      acme.post('/authz/:id', hide, async (req: IdRequest) => {
        const { request, account } = await signedByAccount(req);
        if (request.payload) await deactivateAuthorization(ctx, account, req.params.id, request.payload);
        const { authz, challenges } = await loadAuthorization(ctx, account, req.params.id);
        return authzJson(urls, authz, challenges);
      });
      acme.post('/chall/:id', hide, async (req: IdRequest, reply) => {
        const { request, account } = await signedByAccount(req);
        const { challenge, authz } = request.payload ? await respondToChallenge(ctx, account, req.params.id) : await loadChallenge(ctx, account, req.params.id);
        return reply.header('Link', `<${urls.authz(authz.id)}>;rel="up"`).send(challengeJson(urls, challenge));
      });
      acme.post('/cert/:id', hide, async (req: IdRequest, reply) => {
        const { account } = await signedByAccount(req);
        return reply.type('application/pem-certificate-chain').send(await certificateChain(ctx, account, req.params.id));
      });
      acme.post('/revoke-cert', hide, async (req, reply) => {
        const request = await verified(req, 'either');
        const payload = request.payload ?? {};
        await revokeByAcme(ctx, payload.certificate, payload.reason, request.account ? { account: request.account } : { certificateKeySpki: spkiOf(request.jwk!) });
        return reply.status(200).send();
      });
      acme.get('/renewal-info/:id', hide, async (req: IdRequest, reply) => {
        const window = await renewalInfo(ctx, req.params.id);
        return reply.header('Retry-After', String(RENEWAL_RETRY_AFTER_SECONDS)).send({ suggestedWindow: { start: window.start.toISOString(), end: window.end.toISOString() } });
      });

    },
    { prefix: '/acme' },
  );
}
