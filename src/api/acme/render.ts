/** ACME resources as RFC 8555 JSON, with absolute URLs built from the public URL. */
import type { OrderView } from '../../ra/acme/orders.js';
import type { AcmeAccountTable, AcmeAuthorizationTable, AcmeChallengeTable } from '../../store/schema.js';

export class AcmeUrls {
  constructor(readonly base: string) {}
  get directory() { return `${this.base}/acme/directory`; }
  get terms() { return `${this.base}/acme/terms`; }
  get newNonce() { return `${this.base}/acme/new-nonce`; }
  get newAccount() { return `${this.base}/acme/new-account`; }
  get newOrder() { return `${this.base}/acme/new-order`; }
  get revokeCert() { return `${this.base}/acme/revoke-cert`; }
  get keyChange() { return `${this.base}/acme/key-change`; }
  get renewalInfo() { return `${this.base}/acme/renewal-info`; }
  get accountPrefix() { return `${this.base}/acme/acct/`; }
  account(id: string) { return `${this.accountPrefix}${id}`; }
  accountOrders(id: string) { return `${this.accountPrefix}${id}/orders`; }
  order(id: string) { return `${this.base}/acme/order/${id}`; }
  finalize(id: string) { return `${this.base}/acme/order/${id}/finalize`; }
  authz(id: string) { return `${this.base}/acme/authz/${id}`; }
  challenge(id: string) { return `${this.base}/acme/chall/${id}`; }
  certificate(id: string) { return `${this.base}/acme/cert/${id}`; }
}

export function directoryJson(urls: AcmeUrls, meta: { externalAccountRequired: boolean; caaIdentities: string[] }) {
  return {
    newNonce: urls.newNonce,
    newAccount: urls.newAccount,
    newOrder: urls.newOrder,
    revokeCert: urls.revokeCert,
    keyChange: urls.keyChange,
    renewalInfo: urls.renewalInfo,
    meta: { termsOfService: urls.terms, website: urls.base, caaIdentities: meta.caaIdentities, externalAccountRequired: meta.externalAccountRequired },
  };
}

export function accountJson(urls: AcmeUrls, account: AcmeAccountTable) {
  return {
    status: account.status,
    contact: JSON.parse(account.contact) as string[],
    termsOfServiceAgreed: true,
    orders: urls.accountOrders(account.id),
    createdAt: account.created_at,
  };
}

export function orderJson(urls: AcmeUrls, view: OrderView) {
  const { order } = view;
  return {
    status: order.status,
    expires: order.expires,
    identifiers: view.identifiers,
    authorizations: view.authorizationIds.map((id) => urls.authz(id)),
    finalize: urls.finalize(order.id),
    ...(order.certificate_id ? { certificate: urls.certificate(order.certificate_id) } : {}),
    ...(order.replaces ? { replaces: order.replaces } : {}),
    ...(order.error ? { error: JSON.parse(order.error) as object } : {}),
  };
}

export function challengeJson(urls: AcmeUrls, c: AcmeChallengeTable) {
  return {
    type: c.type,
    url: urls.challenge(c.id),
    status: c.status,
    token: c.token,
    ...(c.validated_at ? { validated: c.validated_at } : {}),
    ...(c.error ? { error: JSON.parse(c.error) as object } : {}),
  };
}

export function authzJson(urls: AcmeUrls, authz: AcmeAuthorizationTable, challenges: AcmeChallengeTable[]) {
  return {
    status: authz.status,
    expires: authz.expires,
    identifier: { type: 'dns', value: authz.identifier },
    challenges: challenges.map((c) => challengeJson(urls, c)),
    ...(authz.wildcard ? { wildcard: true } : {}),
  };
}
