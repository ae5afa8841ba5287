/**
 * The console's reads against a real `certdesk serve` on each backend: search
 * by domain (names and their parents, from the start of a label), per-status
 * counts that follow every status change and combination, and totals that
 * agree with the pages, each scoped to the caller.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { backends, startCertdesk, type ApiClient, type CertdeskProcess } from '../support/certdesk.js';
import { contact, expectOk, grant, organization } from '../support/flows.js';

const ids = (list: { items: { id: string }[] }) => list.items.map((i) => i.id).sort();

for (const backend of await backends()) {
  describe(`reads: search, counts, overview (${backend})`, () => {
    let service: CertdeskProcess;
    let admin: ApiClient;
    let erin: ApiClient;
    let frank: ApiClient;

    before(async () => {
      service = await startCertdesk({ backend });
      admin = await service.user('ops@example.com', 'admin');
      erin = await service.user('erin@example.com', 'subscriber');
      frank = await service.user('frank@example.com', 'subscriber');
    });

    after(async () => {
      await service?.stop();
    });

    const apply = (client: ApiClient, id: string, domains: string[], ov = false) =>
      expectOk(client.put(`/api/v1/instances/${id}/application`, { domains, csr: { mode: 'auto' }, contact, ...(ov ? { organization } : {}) }));

    test('search finds a name, its parents and label prefixes, for the owner only', async () => {
      const shop = await grant(admin, 'erin@example.com', 'dv', 'multi', 2);
      const blog = await grant(admin, 'erin@example.com', 'dv', 'single');
      const other = await grant(admin, 'frank@example.com', 'dv', 'single');
      await apply(erin, shop, ['www.shop.erin-example.com', 'erin-example.org']);
      await apply(erin, blog, ['blog.erin-example.net']);
      await apply(frank, other, ['shop.erin-example.com']);
      const search = async (client: ApiClient, q: string) => ids(await expectOk(client.get(`/api/v1/instances?domain=${encodeURIComponent(q)}`)));
      assert.deepEqual(await search(erin, 'www.shop.erin-example.com'), [shop], 'the exact name');
      assert.deepEqual(await search(erin, 'erin-example.com'), [shop], 'a parent domain finds its subdomains');
      assert.deepEqual(await search(erin, 'shop'), [shop], 'the start of a label');
      assert.deepEqual(await search(erin, '  Blog.Erin-Example.NET. '), [blog], 'case, spaces and a trailing dot do not matter');
      assert.deepEqual(await search(erin, 'erin-example'), [blog, shop].sort(), 'one instance per match, however many of its names match');
      assert.deepEqual(await search(erin, 'hop.erin'), [], 'never from the middle of a label');
      assert.deepEqual(await search(erin, '%'), [], 'no wildcards');
      assert.deepEqual(await search(frank, 'shop'), [other], 'a subscriber finds only their own');
      assert.deepEqual(await search(admin, 'shop.erin-example.com'), [other, shop].sort(), 'an admin finds everyone’s');
      const total = (await expectOk(erin.get('/api/v1/instances?domain=erin-example&pageSize=1'))).total;
      assert.equal(total, 2, 'the total counts all matches, not the page');

      await apply(erin, blog, ['news.erin-example.net']);
      assert.deepEqual(await search(erin, 'blog'), [], 'a replaced name is no longer found');
      assert.deepEqual(await search(erin, 'news.erin-example.net'), [blog], 'the new name is');
    });

    test('counts follow submission, withdrawal and combination, and agree with the lists', async () => {
      const george = await service.user('george@example.com', 'subscriber');
      const dv = await grant(admin, 'george@example.com', 'dv', 'single');
      const ovA = await grant(admin, 'george@example.com', 'ov', 'single');
      const ovB = await grant(admin, 'george@example.com', 'ov', 'wildcard');
      const counts = async () => (await expectOk(george.get('/api/v1/overview'))).counts;
      assert.equal((await counts()).pending_application, 3);
      const before = await expectOk(admin.get('/api/v1/overview'));

      await apply(george, dv, ['george-example.com']);
      await expectOk(george.post(`/api/v1/instances/${dv}/submit`));
      assert.equal((await counts()).pending_application, 2);
      assert.equal((await counts()).domain_verification, 1);
      await expectOk(george.post(`/api/v1/instances/${dv}/withdraw`));
      assert.equal((await counts()).pending_application, 3);
      assert.equal((await counts()).domain_verification, 0);

      await expectOk(george.post('/api/v1/instances/combine', { instanceIds: [ovA, ovB] }));
      const after = await counts();
      assert.equal(after.pending_application, 2, 'an instance combined into another is no longer counted');
      const overview = await expectOk(george.get('/api/v1/overview'));
      assert.equal(overview.total, 2);
      assert.equal(overview.reviewQueue, null);
      const listed = await expectOk(george.get('/api/v1/instances?status=pending_application&pageSize=1'));
      assert.equal(listed.total, 2, 'the list total is the count');
      assert.equal(listed.items.length, 1);
      assert.deepEqual(ids(await expectOk(george.get('/api/v1/instances'))), [dv, ovA].sort(), 'the combined part is not listed');

      const adminAfter = await expectOk(admin.get('/api/v1/overview'));
      assert.equal(adminAfter.total, before.total - 1, 'the admin sees the same change across all owners');
      assert.equal(adminAfter.reviewQueue, adminAfter.counts.under_review);
      const all = await expectOk(admin.get('/api/v1/instances?pageSize=100'));
      assert.equal(all.total, adminAfter.total);
      assert.equal(all.items.length, Math.min(100, adminAfter.total));
    });

    test('pages are newest first and do not overlap', async () => {
      const first = await expectOk(admin.get('/api/v1/instances?page=1&pageSize=3'));
      const second = await expectOk(admin.get('/api/v1/instances?page=2&pageSize=3'));
      const all = [...first.items, ...second.items];
      assert.equal(new Set(all.map((i: { id: string }) => i.id)).size, all.length);
      const created = all.map((i: { createdAt: string }) => i.createdAt);
      assert.deepEqual(created, [...created].sort().reverse());
    });
  });
}
