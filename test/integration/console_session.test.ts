/** Browser sessions over real HTTP: sign in sets the cookies, CSRF guards cookie requests, sign out ends the session. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { consoleUser, PASSWORD } from '../support/browser.js';
import { startCertdesk, type CertdeskProcess } from '../support/certdesk.js';
import { grant } from '../support/flows.js';

function cookies(res: Response): Map<string, string> {
  return new Map(res.headers.getSetCookie().map((c) => [c.slice(0, c.indexOf('=')), c]));
}

const json = (res: Response): Promise<any> => res.json();

const value = (setCookie: string | undefined) => (setCookie ?? '').split(';')[0]?.split('=').slice(1).join('=') ?? '';

describe('console session', () => {
  let service: CertdeskProcess;
  before(async () => {
    service = await startCertdesk();
  });
  after(async () => service?.stop());

  test('sign in sets an HTTP-only SameSite=Strict session cookie and a readable CSRF cookie; cookie requests need the CSRF header; sign out ends the session', async () => {
    const admin = await consoleUser(service, 'ops@example.com', 'admin');
    await consoleUser(service, 'carol@example.com', 'subscriber');
    const id = await grant(admin, 'carol@example.com', 'dv', 'single');

    const wrong = await fetch(`${service.url}/api/v1/auth/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'carol@example.com', password: 'nope-nope-nope' }) });
    assert.equal(wrong.status, 401);
    assert.equal((await json(wrong)).error.code, 'LOGIN_FAILED');
    assert.equal(wrong.headers.getSetCookie().length, 0);

    const res = await fetch(`${service.url}/api/v1/auth/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'carol@example.com', password: PASSWORD }) });
    assert.equal(res.status, 200);
    assert.equal((await json(res)).user.role, 'subscriber');
    const set = cookies(res);
    const session = set.get('certdesk_session');
    const csrf = set.get('certdesk_csrf');
    assert.ok(session && csrf, [...set.keys()].join(','));
    assert.match(session, /HttpOnly/i);
    assert.match(session, /SameSite=Strict/i);
    assert.match(session, /Path=\//);
    assert.doesNotMatch(session, /Secure/i, 'plain http: no Secure flag');
    assert.doesNotMatch(csrf, /HttpOnly/i, 'the console script reads the CSRF cookie');
    assert.match(csrf, /SameSite=Strict/i);
    const jar = `certdesk_session=${value(session)}; certdesk_csrf=${value(csrf)}`;

    const me = await fetch(`${service.url}/api/v1/me`, { headers: { cookie: jar } });
    assert.equal((await json(me)).email, 'carol@example.com');

    const check = { domains: 'www.example.com' };
    const noHeader = await fetch(`${service.url}/api/v1/instances/${id}/check-domains`, { method: 'POST', headers: { cookie: jar, 'content-type': 'application/json' }, body: JSON.stringify(check) });
    assert.equal(noHeader.status, 403);
    assert.equal((await json(noHeader)).error.code, 'CSRF_TOKEN_INVALID');
    const badHeader = await fetch(`${service.url}/api/v1/instances/${id}/check-domains`, { method: 'POST', headers: { cookie: jar, 'content-type': 'application/json', 'x-csrf-token': 'forged' }, body: JSON.stringify(check) });
    assert.equal((await json(badHeader)).error.code, 'CSRF_TOKEN_INVALID');
    const ok = await fetch(`${service.url}/api/v1/instances/${id}/check-domains`, { method: 'POST', headers: { cookie: jar, 'content-type': 'application/json', 'x-csrf-token': value(csrf) }, body: JSON.stringify(check) });
    assert.equal(ok.status, 200);
    assert.equal((await json(ok)).valid, true);

    // The session token is not a bearer token, and bearer requests need no CSRF header.
    const asBearer = await fetch(`${service.url}/api/v1/me`, { headers: { authorization: `Bearer ${value(session)}` } });
    assert.equal(asBearer.status, 401);
    const bearer = await admin.post(`/api/v1/instances/${id}/check-domains`, { domains: 'https://www.example.com/' });
    assert.equal(bearer.status, 200);
    assert.equal(bearer.body.valid, false);
    assert.equal(bearer.body.problem.code, 'DOMAIN_INVALID');

    const out = await fetch(`${service.url}/api/v1/auth/session`, { method: 'DELETE', headers: { cookie: jar, 'x-csrf-token': value(csrf) } });
    assert.equal(out.status, 204);
    assert.ok(out.headers.getSetCookie().some((c) => /^certdesk_session=;/.test(c)), 'the cookie is cleared');
    const after = await fetch(`${service.url}/api/v1/me`, { headers: { cookie: jar } });
    assert.equal(after.status, 401, 'the old cookie no longer works');
  });

  test('the console is served at / and for its own routes; server paths keep their JSON 404', async () => {
    const root = await fetch(`${service.url}/`);
    assert.equal(root.status, 200);
    assert.match(await root.text(), /<div id="root">/);
    const deep = await fetch(`${service.url}/instances/inst_whatever`);
    assert.equal(deep.status, 200);
    assert.match(deep.headers.get('content-type') ?? '', /text\/html/);
    for (const p of ['/api/v1/nothing', '/ca/nothing', '/acme/nothing-here']) {
      const res = await fetch(service.url + p);
      assert.equal(res.status, 404, p);
      assert.match(res.headers.get('content-type') ?? '', /json/, p);
    }
    const openapi = await json(await fetch(`${service.url}/api/v1/openapi.json`));
    for (const p of ['/api/v1/auth/session', '/api/v1/overview', '/api/v1/instances/{id}/check-domains', '/api/v1/csr/check']) assert.ok(openapi.paths[p], p);
  });
});
