/** Helpers shared by the ACME integration tests: EAB keys from the real CLI, a raw JWS client, a challenge web server, and the checks every issued certificate must pass. */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { exportJWK, FlattenedSign, generateKeyPair, type JWK } from 'jose';
import type { ApiClient, CertdeskProcess } from './certdesk.js';
import { run } from './flows.js';

export async function eabKey(service: CertdeskProcess, email: string, instanceId?: string): Promise<{ kid: string; hmac: string }> {
  const out = await service.cli(['acme', 'eab', 'create', '--email', email, ...(instanceId ? ['--instance', instanceId] : [])]);
  const lines = out.trim().split('\n');
  const kid = /^kid: (\S+)$/.exec(lines.at(-2) ?? '')?.[1];
  const hmac = /^hmac: (\S+)$/.exec(lines.at(-1) ?? '')?.[1];
  assert.ok(kid && hmac, `the last two lines are kid and hmac:\n${out}`);
  return { kid, hmac };
}

export interface AcmeResponse {
  status: number;
  body: any;
  headers: Headers;
}

/** A minimal ACME client that signs exactly what a test tells it to, so negative paths can be built by hand. */
export class RawAcmeClient {
  accountUrl: string | null = null;
  private constructor(
    readonly directory: Record<string, any>,
    readonly privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'],
    readonly jwk: JWK,
  ) {}

  static async create(directoryUrl: string): Promise<RawAcmeClient> {
    const directory = (await (await fetch(directoryUrl)).json()) as Record<string, any>;
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    return new RawAcmeClient(directory, privateKey, await exportJWK(publicKey));
  }

  async nonce(): Promise<string> {
    const res = await fetch(this.directory.newNonce, { method: 'HEAD' });
    const nonce = res.headers.get('replay-nonce');
    assert.ok(nonce, 'newNonce returns a Replay-Nonce');
    return nonce;
  }

  async sign(url: string, payload: unknown, options: { nonce?: string; signedUrl?: string; useJwk?: boolean } = {}): Promise<string> {
    const header: Record<string, unknown> = { alg: 'ES256', nonce: options.nonce ?? (await this.nonce()), url: options.signedUrl ?? url };
    if (options.useJwk || !this.accountUrl) header.jwk = this.jwk;
    else header.kid = this.accountUrl;
    const bytes = payload === '' ? new Uint8Array() : new TextEncoder().encode(JSON.stringify(payload));
    return JSON.stringify(await new FlattenedSign(bytes).setProtectedHeader(header as never).sign(this.privateKey));
  }

  async postBody(url: string, body: string): Promise<AcmeResponse> {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/jose+json' }, body });
    const text = await res.text();
    const type = res.headers.get('content-type') ?? '';
    return { status: res.status, body: type.includes('json') && text ? JSON.parse(text) : text, headers: res.headers };
  }

  async post(url: string, payload: unknown, options: { nonce?: string; signedUrl?: string; useJwk?: boolean } = {}): Promise<AcmeResponse> {
    return this.postBody(url, await this.sign(url, payload, options));
  }

  eab(kid: string, hmac: string): object {
    const protectedB64 = Buffer.from(JSON.stringify({ alg: 'HS256', kid, url: this.directory.newAccount })).toString('base64url');
    const payloadB64 = Buffer.from(JSON.stringify(this.jwk)).toString('base64url');
    const signature = createHmac('sha256', Buffer.from(hmac, 'base64url')).update(`${protectedB64}.${payloadB64}`).digest('base64url');
    return { protected: protectedB64, payload: payloadB64, signature };
  }

  async register(eab: { kid: string; hmac: string }): Promise<AcmeResponse> {
    const res = await this.post(this.directory.newAccount, { termsOfServiceAgreed: true, contact: ['mailto:ops@example.com'], externalAccountBinding: this.eab(eab.kid, eab.hmac) });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    this.accountUrl = res.headers.get('location');
    return res;
  }
}

export function assertProblem(res: AcmeResponse, type: string, status?: number): void {
  assert.equal(res.headers.get('content-type')?.split(';')[0], 'application/problem+json', JSON.stringify(res.body));
  assert.equal(res.body.type, `urn:ietf:params:acme:error:${type}`, JSON.stringify(res.body));
  if (status !== undefined) assert.equal(res.status, status, JSON.stringify(res.body));
  assert.ok(res.headers.get('replay-nonce'), 'a problem carries a Replay-Nonce too');
  assert.ok(typeof res.body.detail === 'string' && res.body.detail.length > 10, 'the detail says what is wrong');
}

/** Serves http-01 key authorizations on 127.0.0.1:port. */
export async function startChallengeServer(port: number): Promise<{ set(token: string, keyAuth: string): void; stop(): Promise<void> }> {
  const answers = new Map<string, string>();
  const server = http.createServer((req, res) => {
    const token = /^\/\.well-known\/acme-challenge\/([A-Za-z0-9_-]+)$/.exec(req.url ?? '')?.[1];
    const answer = token ? answers.get(token) : undefined;
    res.writeHead(answer ? 200 : 404, { 'content-type': 'text/plain' }).end(answer ?? 'not found');
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { set: (token, keyAuth) => answers.set(token, keyAuth), stop: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** openssl verify against certdesk's root with the served chain; returns the leaf's subjectAltName text. */
export async function verifyWithOpenssl(client: ApiClient, leafPem: string, dir: string, chainPem?: string): Promise<string> {
  const root = path.join(dir, 'root.pem');
  const chain = path.join(dir, 'chain-served.pem');
  const leaf = path.join(dir, 'leaf-check.pem');
  writeFileSync(root, (await client.get('/ca/root.pem')).bytes);
  writeFileSync(chain, chainPem ?? (await client.get('/ca/chain.pem')).bytes);
  writeFileSync(leaf, leafPem.split(/(?<=-----END CERTIFICATE-----\n?)/)[0] as string);
  const verified = await run('openssl', ['verify', '-CAfile', root, '-untrusted', chain, leaf]);
  assert.match(verified.stdout, /: OK/);
  const { stdout } = await run('openssl', ['x509', '-in', leaf, '-noout', '-ext', 'subjectAltName']);
  return stdout;
}

/** The instance that holds `domain` (its first name): issued, with the ACME steps on its timeline. */
export async function assertIssuedInstance(owner: ApiClient, domain: string): Promise<string> {
  const list = await owner.get(`/api/v1/instances?domain=${encodeURIComponent(domain)}&pageSize=100`);
  assert.equal(list.status, 200, JSON.stringify(list.body));
  const matches = list.body.items.filter((i: any) => i.domains.includes(domain) && (i.status === 'issued' || i.status === 'revoked'));
  assert.ok(matches.length > 0, `an issued instance holds ${domain}: ${JSON.stringify(list.body.items)}`);
  const id = matches[0].id as string;
  const progress = await owner.get(`/api/v1/instances/${id}/progress`);
  const types = progress.body.events.map((e: any) => e.type);
  for (const step of ['acme_order_created', 'acme_challenge_validated', 'acme_finalized', 'issued']) assert.ok(types.includes(step), `${step} in ${types}`);
  return id;
}
