/**
 * The HubSpot sandbox, exercised with the real @hubspot/api-client (and raw fetch where the exact
 * wire shape matters). Every test starts its own sandbox on a random port.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Client } from '@hubspot/api-client';
import { startHubSpotSandbox, type HubSpotSandbox, type SandboxOptions } from '../src/sandbox/hubspot/index';
import { seedRealistic } from '../src/sandbox/hubspot/generate';

const TOKEN = 'sandbox-token';

async function withSandbox(opts: SandboxOptions, fn: (sb: HubSpotSandbox, client: Client) => Promise<void>): Promise<void> {
  const sb = await startHubSpotSandbox(opts);
  try {
    const client = new Client({ accessToken: TOKEN, basePath: sb.url, numberOfApiCallRetries: 0 });
    await fn(sb, client);
  } finally {
    await sb.close();
  }
}

interface ApiErr {
  code: number;
  body: { category?: string; message?: string; subCategory?: string };
  headers: Record<string, string>;
}

async function apiError(p: Promise<unknown>): Promise<ApiErr> {
  try {
    await p;
  } catch (e) {
    const err = e as ApiErr;
    assert.equal(typeof err.code, 'number', `expected an ApiException, got ${String(e)}`);
    return err;
  }
  assert.fail('expected the call to fail');
}

async function raw(sb: HubSpotSandbox, method: string, path: string, body?: unknown, token: string | null = TOKEN) {
  const headers: Record<string, string> = {};
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${sb.url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('contact create / get / update / archive through the SDK', async () => {
  await withSandbox({}, async (sb, client) => {
    const created = await client.crm.contacts.basicApi.create({
      properties: { email: 'ada@example.com', firstname: 'Ada', lastname: 'Lovelace' },
      associations: [],
    });
    assert.match(created.id, /^\d+$/);
    assert.equal(created.properties.hs_object_id, created.id);
    assert.equal(created.properties.email, 'ada@example.com');
    assert.ok(created.createdAt instanceof Date);
    assert.equal(created.properties.lastmodifieddate, created.updatedAt.toISOString());
    assert.equal(created.properties.hs_lastmodifieddate, created.updatedAt.toISOString());

    const got = await client.crm.contacts.basicApi.getById(created.id, ['email', 'phone', 'nonexistent_prop']);
    assert.equal(got.properties.email, 'ada@example.com');
    assert.equal(got.properties.phone, null, 'requested but unset -> null');
    assert.ok(!('nonexistent_prop' in got.properties), 'unknown requested properties are ignored');
    assert.ok('lastmodifieddate' in got.properties && 'createdate' in got.properties);

    const defaults = await client.crm.contacts.basicApi.getById(created.id);
    assert.deepEqual(Object.keys(defaults.properties).sort(), ['createdate', 'email', 'firstname', 'hs_object_id', 'lastmodifieddate', 'lastname']);

    await sleep(2);
    const updated = await client.crm.contacts.basicApi.update(created.id, { properties: { phone: '+1 555 0100' } });
    assert.equal(updated.properties.phone, '+1 555 0100');
    assert.ok(updated.updatedAt.getTime() > created.updatedAt.getTime(), 'updatedAt moves forward');
    const local = sb.get('contacts', created.id)!;
    assert.equal(local.properties.phone, '+1 555 0100');
    assert.equal(local.properties.lastmodifieddate, local.updatedAt);

    // a no-op update does not move the last-modified date
    const same = await client.crm.contacts.basicApi.update(created.id, { properties: { phone: '+1 555 0100' } });
    assert.equal(same.updatedAt.getTime(), updated.updatedAt.getTime());

    await client.crm.contacts.basicApi.archive(created.id);
    await client.crm.contacts.basicApi.archive(created.id); // idempotent
    const nf = await apiError(client.crm.contacts.basicApi.getById(created.id));
    assert.equal(nf.code, 404);
    assert.equal(nf.body.category, 'OBJECT_NOT_FOUND');
    const patch404 = await apiError(client.crm.contacts.basicApi.update(created.id, { properties: { firstname: 'x' } }));
    assert.equal(patch404.code, 404);
    const archived = await client.crm.contacts.basicApi.getById(created.id, undefined, undefined, undefined, true);
    assert.equal(archived.archived, true);
    assert.ok(archived.archivedAt instanceof Date);
    const page = await client.crm.contacts.basicApi.getPage(10, undefined, undefined, undefined, undefined, true);
    assert.deepEqual(page.results.map((r) => r.id), [created.id]);
    assert.equal((await client.crm.contacts.basicApi.getPage()).results.length, 0);
  });
});

test('list paging: limit/after, paging absent on the last page, getAll walks everything', async () => {
  await withSandbox({ rateLimits: false }, async (sb, client) => {
    const seeded = sb.seed('companies', 235);
    const first = await client.crm.companies.basicApi.getPage(100, undefined, ['name', 'industry']);
    assert.equal(first.results.length, 100);
    assert.ok(first.paging?.next?.after);
    assert.equal(first.results[0]!.properties.industry, seeded[0]!.properties.industry);
    const all = await client.crm.companies.getAll(100);
    assert.deepEqual(all.map((c) => c.id), seeded.map((s) => s.id));
    const last = await client.crm.companies.basicApi.getPage(100, String(Number(seeded[200]!.id)));
    assert.equal(last.results.length, 35);
    assert.equal(last.paging, undefined);
    const tooMany = await apiError(client.crm.companies.basicApi.getPage(101));
    assert.equal(tooMany.code, 400);
  });
});

test('batch upsert by aurora_id twice yields one record (new: true, then false)', async () => {
  await withSandbox({}, async (sb, client) => {
    const input = { id: 'aur-1', idProperty: 'aurora_id', properties: { name: 'Acme', domain: 'acme.com' } };
    const r1 = await client.crm.companies.batchApi.upsert({ inputs: [input] });
    assert.equal(r1.results.length, 1);
    assert.equal(r1.results[0]!._new, true);
    assert.equal(r1.results[0]!.properties.aurora_id, 'aur-1');
    const r2 = await client.crm.companies.batchApi.upsert({ inputs: [{ ...input, properties: { name: 'Acme Corp' } }] });
    assert.equal(r2.results[0]!._new, false);
    assert.equal(r2.results[0]!.id, r1.results[0]!.id);
    const all = sb.list('companies');
    assert.equal(all.length, 1);
    assert.equal(all[0]!.properties.name, 'Acme Corp');

    // raw wire shape uses `new`
    const wire = await raw(sb, 'POST', '/crm/v3/objects/companies/batch/upsert', { inputs: [input] });
    assert.equal(wire.status, 200);
    assert.equal((wire.body!.results as Array<{ new: boolean }>)[0]!.new, false);

    // idProperty must be a unique property
    const bad = await apiError(
      client.crm.companies.batchApi.upsert({ inputs: [{ id: 'x', idProperty: 'name', properties: {} }] }),
    );
    assert.equal(bad.code, 400);
    // contacts can upsert by email
    const byEmail = await client.crm.contacts.batchApi.upsert({
      inputs: [{ id: 'grace@example.com', idProperty: 'email', properties: { firstname: 'Grace' } }],
    });
    assert.equal(byEmail.results[0]!._new, true);
    assert.equal(byEmail.results[0]!.properties.email, 'grace@example.com');
    // more than 100 inputs -> 400
    const inputs = Array.from({ length: 101 }, (_, i) => ({ id: `a${i}`, idProperty: 'aurora_id', properties: {} }));
    assert.equal((await apiError(client.crm.companies.batchApi.upsert({ inputs }))).code, 400);
  });
});

test('duplicate contact email -> 409 CONFLICT; duplicate aurora_id -> 409; batch create reports 207', async () => {
  await withSandbox({}, async (sb, client) => {
    const first = await client.crm.contacts.basicApi.create({ properties: { email: 'dup@example.com', aurora_id: 'A1' }, associations: [] });
    const e = await apiError(client.crm.contacts.basicApi.create({ properties: { email: 'DUP@example.com' }, associations: [] }));
    assert.equal(e.code, 409);
    assert.equal(e.body.category, 'CONFLICT');
    assert.equal(e.body.message, `Contact already exists. Existing ID: ${first.id}`);
    const e2 = await apiError(client.crm.contacts.basicApi.create({ properties: { email: 'other@example.com', aurora_id: 'A1' }, associations: [] }));
    assert.equal(e2.code, 409);

    const batch = await client.crm.contacts.batchApi.createWithHttpInfo({
      inputs: [
        { properties: { email: 'new@example.com' }, associations: [] },
        { properties: { email: 'dup@example.com' }, associations: [] },
      ],
    });
    assert.equal(batch.httpStatusCode, 207);
    assert.equal(batch.data.results.length, 1);
    const errors = (batch.data as { errors?: Array<{ category: string; message: string }> }).errors!;
    assert.equal(errors[0]!.category, 'CONFLICT');
    assert.match(errors[0]!.message, /Existing ID: \d+/);
    assert.equal(sb.list('contacts').length, 2);
  });
});

test('unknown or read-only property on write -> 400 VALIDATION_ERROR', async () => {
  await withSandbox({}, async (sb, client) => {
    const e = await apiError(client.crm.contacts.basicApi.create({ properties: { email: 'x@example.com', foo: 'bar' }, associations: [] }));
    assert.equal(e.code, 400);
    assert.equal(e.body.category, 'VALIDATION_ERROR');
    assert.ok(e.body.message!.startsWith('Property values were not valid: '));
    const list = JSON.parse(e.body.message!.slice('Property values were not valid: '.length)) as Array<Record<string, unknown>>;
    assert.equal(list[0]!.error, 'PROPERTY_DOESNT_EXIST');
    assert.equal(list[0]!.name, 'foo');
    assert.equal(list[0]!.message, 'Property "foo" does not exist');

    const ro = await apiError(client.crm.deals.basicApi.create({ properties: { dealname: 'x', hs_object_id: '5' }, associations: [] }));
    assert.equal(ro.code, 400);
    assert.match(ro.body.message!, /READ_ONLY_VALUE/);
    const num = await apiError(client.crm.deals.basicApi.create({ properties: { amount: 'lots' }, associations: [] }));
    assert.equal(num.code, 400);
    assert.equal(sb.list('contacts').length + sb.list('deals').length, 0, 'nothing written');

    // datetimes are normalised to ISO with ms
    const deal = await client.crm.deals.basicApi.create({ properties: { dealname: 'd', closedate: '1735689600000' }, associations: [] });
    assert.equal(deal.properties.closedate, '2025-01-01T00:00:00.000Z');
  });
});

test('batch read with a missing id -> 207 with OBJECT_NOT_FOUND errors', async () => {
  await withSandbox({}, async (sb, client) => {
    const [a, b] = sb.seed('deals', 2);
    const res = await client.crm.deals.batchApi.readWithHttpInfo({
      inputs: [{ id: a!.id }, { id: '999999' }, { id: b!.id }],
      properties: ['dealname', 'amount'],
      propertiesWithHistory: [],
    });
    assert.equal(res.httpStatusCode, 207);
    assert.deepEqual(res.data.results.map((r) => r.id).sort(), [a!.id, b!.id].sort());
    assert.equal(res.data.results[0]!.properties.amount !== undefined, true);
    const data = res.data as { errors?: Array<{ category: string; context?: Record<string, string[]> }>; numErrors?: number };
    assert.equal(data.numErrors, 1);
    assert.equal(data.errors![0]!.category, 'OBJECT_NOT_FOUND');
    assert.deepEqual(data.errors![0]!.context!.ids, ['999999']);

    const ok = await client.crm.deals.batchApi.readWithHttpInfo({ inputs: [{ id: a!.id }], properties: [], propertiesWithHistory: ['dealname'] });
    assert.equal(ok.httpStatusCode, 200);
    assert.equal(ok.data.status, 'COMPLETE');
    assert.equal(ok.data.results[0]!.propertiesWithHistory!.dealname![0]!.value, a!.properties.dealname);

    // by unique idProperty
    sb.userUpdate('deals', a!.id, { aurora_id: 'deal-a' });
    const byAurora = await client.crm.deals.batchApi.read({ inputs: [{ id: 'deal-a' }], idProperty: 'aurora_id', properties: [], propertiesWithHistory: [] });
    assert.equal(byAurora.results[0]!.id, a!.id);

    // batch update: missing ids are reported, the rest applied
    const upd = await client.crm.deals.batchApi.updateWithHttpInfo({
      inputs: [
        { id: a!.id, properties: { amount: '123' } },
        { id: '424242', properties: { amount: '1' } },
      ],
    });
    assert.equal(upd.httpStatusCode, 207);
    assert.equal(sb.get('deals', a!.id)!.properties.amount, '123');
  });
});

test('search: GTE on lastmodifieddate, ASC sort with id tie-break, paging, 10k cap', async () => {
  await withSandbox({ rateLimits: false }, async (sb, client) => {
    const t0 = new Date('2026-01-01T00:00:00.000Z');
    const old = sb.seed('contacts', 5, { modifiedAt: new Date('2025-06-01T00:00:00.000Z') });
    const tied = sb.seed('contacts', 30, { modifiedAt: t0 });
    await sleep(2);
    const edited = sb.userUpdate('contacts', old[2]!.id, { jobtitle: 'CTO' });
    assert.ok(Date.parse(edited.updatedAt) > t0.getTime());

    const seen: string[] = [];
    let after: string | undefined;
    let total = -1;
    do {
      const page = await client.crm.contacts.searchApi.doSearch({
        filterGroups: [{ filters: [{ propertyName: 'lastmodifieddate', operator: 'GTE' as never, value: String(t0.getTime()) }] }],
        sorts: [{ propertyName: 'lastmodifieddate', direction: 'ASCENDING' }] as never,
        properties: ['email', 'lastmodifieddate'],
        limit: 7,
        after,
      });
      total = page.total;
      for (const r of page.results) seen.push(r.id);
      after = page.paging?.next?.after;
    } while (after);
    assert.equal(total, 31);
    assert.deepEqual(seen, [...tied.map((r) => r.id), old[2]!.id], 'ties at one timestamp ordered by id, then the later edit');

    // ISO filter values work too, and DESCENDING sort
    const desc = await client.crm.contacts.searchApi.doSearch({
      filterGroups: [{ filters: [{ propertyName: 'hs_lastmodifieddate', operator: 'LT' as never, value: t0.toISOString() }] }],
      sorts: [{ propertyName: 'hs_object_id', direction: 'DESCENDING' }] as never,
      limit: 10,
    });
    assert.deepEqual(desc.results.map((r) => r.id), [old[4]!.id, old[3]!.id, old[1]!.id, old[0]!.id]);
    assert.ok('lastmodifieddate' in desc.results[0]!.properties, 'default contact search properties');

    // OR of groups, IN, HAS_PROPERTY, CONTAINS_TOKEN
    const email = tied[0]!.properties.email!;
    const or = await client.crm.contacts.searchApi.doSearch({
      filterGroups: [
        { filters: [{ propertyName: 'email', operator: 'EQ' as never, value: email.toUpperCase() }] },
        { filters: [{ propertyName: 'hs_object_id', operator: 'IN' as never, values: [old[0]!.id, old[1]!.id] }] },
      ],
      limit: 10,
    });
    assert.equal(or.total, 3);
    const token = await client.crm.contacts.searchApi.doSearch({
      filterGroups: [{ filters: [{ propertyName: 'email', operator: 'CONTAINS_TOKEN' as never, value: `*@${email.split('@')[1]}` }] }],
      limit: 100,
    });
    assert.ok(token.results.some((r) => r.id === tied[0]!.id));

    // the 10,000 cap and the other limits are 400s
    const cap = await apiError(client.crm.contacts.searchApi.doSearch({ filterGroups: [], limit: 10, after: '10000' }));
    assert.equal(cap.code, 400);
    assert.equal(cap.body.category, 'VALIDATION_ERROR');
    assert.equal((await apiError(client.crm.contacts.searchApi.doSearch({ filterGroups: [], limit: 100, after: '9950' }))).code, 400);
    assert.equal((await apiError(client.crm.contacts.searchApi.doSearch({ filterGroups: [], limit: 201 }))).code, 400);
    const twoSorts = await apiError(
      client.crm.contacts.searchApi.doSearch({ filterGroups: [], sorts: ['createdate', 'email'], limit: 1 }),
    );
    assert.equal(twoSorts.code, 400);
    const sixGroups = Array.from({ length: 6 }, () => ({ filters: [{ propertyName: 'email', operator: 'HAS_PROPERTY' as never }] }));
    assert.equal((await apiError(client.crm.contacts.searchApi.doSearch({ filterGroups: sixGroups, limit: 1 }))).code, 400);

    // archived records never appear
    sb.userArchive('contacts', tied[0]!.id);
    const afterArchive = await client.crm.contacts.searchApi.doSearch({
      filterGroups: [{ filters: [{ propertyName: 'hs_object_id', operator: 'EQ' as never, value: tied[0]!.id }] }],
      limit: 1,
    });
    assert.equal(afterArchive.total, 0);
  });
});

test('search lag: a change is invisible to search until searchLagMs has passed', async () => {
  await withSandbox({ searchLagMs: 400 }, async (sb, client) => {
    const search = (email: string) =>
      client.crm.contacts.searchApi.doSearch({
        filterGroups: [{ filters: [{ propertyName: 'email', operator: 'EQ' as never, value: email }] }],
        properties: ['firstname'],
        limit: 10,
      });
    const rec = sb.userCreate('contacts', { email: 'lag@example.com', firstname: 'Before' });
    assert.equal((await search('lag@example.com')).total, 0, 'fresh create not yet indexed');
    // reads by id are immediately consistent
    assert.equal((await client.crm.contacts.basicApi.getById(rec.id)).properties.firstname, 'Before');
    await sleep(450);
    const visible = await search('lag@example.com');
    assert.equal(visible.total, 1);
    assert.equal(visible.results[0]!.properties.firstname, 'Before');

    sb.userUpdate('contacts', rec.id, { firstname: 'After' });
    const stale = await search('lag@example.com');
    assert.equal(stale.results[0]!.properties.firstname, 'Before', 'search still sees the previous version');
    await sleep(450);
    assert.equal((await search('lag@example.com')).results[0]!.properties.firstname, 'After');
  });
});

test('rate limit: the request past the 10 s budget gets 429 TEN_SECONDLY_ROLLING with headers', async () => {
  await withSandbox({ rateLimits: { perTenSeconds: 5 } }, async (sb, client) => {
    for (let i = 0; i < 5; i++) {
      const r = await raw(sb, 'GET', '/crm/v3/objects/contacts?limit=1');
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('x-hubspot-ratelimit-max'), '5');
      assert.equal(r.headers.get('x-hubspot-ratelimit-remaining'), String(4 - i));
      assert.equal(r.headers.get('x-hubspot-ratelimit-interval-milliseconds'), '10000');
      assert.equal(r.headers.get('x-hubspot-ratelimit-daily'), '250000');
      assert.equal(r.headers.get('x-hubspot-ratelimit-daily-remaining'), String(249_999 - i));
      assert.ok(r.headers.get('x-hubspot-ratelimit-secondly'));
      assert.ok(r.headers.get('x-hubspot-ratelimit-secondly-remaining'));
      assert.match(r.headers.get('content-type')!, /^application\/json/);
    }
    const limited = await raw(sb, 'GET', '/crm/v3/objects/contacts?limit=1');
    assert.equal(limited.status, 429);
    const body = limited.body!;
    assert.deepEqual(Object.keys(body), ['status', 'message', 'errorType', 'correlationId', 'policyName', 'requestId']);
    assert.equal(body.status, 'error');
    assert.equal(body.message, 'You have reached your ten_secondly_rolling limit.');
    assert.equal(body.errorType, 'RATE_LIMIT');
    assert.equal(body.policyName, 'TEN_SECONDLY_ROLLING');
    assert.match(String(body.correlationId), /^[0-9a-f-]{36}$/);
    assert.match(String(body.requestId), /^[0-9a-f-]{36}$/);
    const retryAfter = Number(limited.headers.get('retry-after'));
    assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 10);
    assert.equal(limited.headers.get('x-hubspot-ratelimit-remaining'), '0');

    // the SDK surfaces it as ApiException 429
    const e = await apiError(client.crm.contacts.basicApi.getPage(1));
    assert.equal(e.code, 429);
    const s = sb.stats();
    assert.equal(s.rateLimited, 2);
    assert.equal(s.requests, 7);
    // admin API is never limited
    assert.equal((await raw(sb, 'GET', '/_sandbox/stats', undefined, null)).status, 200);
  });
});

test('rate limit: the 6th search within a second gets 429 SECONDLY', async () => {
  await withSandbox({}, async (sb) => {
    const body = { filterGroups: [], limit: 1 };
    const results = await Promise.all(Array.from({ length: 6 }, () => raw(sb, 'POST', '/crm/v3/objects/contacts/search', body)));
    const statuses = results.map((r) => r.status).sort();
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 429]);
    const limited = results.find((r) => r.status === 429)!;
    assert.equal(limited.body!.message, 'You have reached your secondly limit.');
    assert.equal(limited.body!.policyName, 'SECONDLY');
    assert.equal(limited.body!.errorType, 'RATE_LIMIT');
    assert.ok(Number(limited.headers.get('retry-after')) >= 1);
    assert.equal(sb.stats().searchRequests, 6);
    // non-search requests are not limited by the search budget
    assert.equal((await raw(sb, 'GET', '/crm/v3/objects/contacts')).status, 200);
    await sleep(1050);
    assert.equal((await raw(sb, 'POST', '/crm/v3/objects/contacts/search', body)).status, 200);
  });
});

test('associations: default create, v4 batch read, v3 ?associations, lastmodified bump', async () => {
  await withSandbox({}, async (sb, client) => {
    const [contact, lonely] = sb.seed('contacts', 2);
    const [company] = sb.seed('companies', 1);
    const [deal] = sb.seed('deals', 1);
    await sleep(2);
    const res = await client.crm.associations.v4.basicApi.createDefault('contacts', contact!.id, 'companies', company!.id);
    assert.equal(res.status, 'COMPLETE');
    const typeIds = res.results.map((r) => r.associationSpec.associationTypeId).sort((a, b) => a - b);
    assert.deepEqual(typeIds, [1, 2, 279, 280]);
    const batch = await client.crm.associations.v4.batchApi.createDefault('deals', 'companies', {
      inputs: [{ _from: { id: deal!.id }, to: { id: company!.id } }],
    });
    assert.deepEqual(batch.results.map((r) => r.associationSpec.associationTypeId).sort((a, b) => a - b), [5, 6, 341, 342]);
    assert.deepEqual(sb.associations('deals', deal!.id, 'companies'), [company!.id]);
    assert.deepEqual(sb.associations('companies', company!.id, 'contacts'), [contact!.id]);

    const read = await client.crm.associations.v4.batchApi.getPage('contacts', 'companies', {
      inputs: [{ id: contact!.id }, { id: lonely!.id }],
    });
    assert.equal(read.results.length, 1);
    assert.equal(read.results[0]!._from.id, contact!.id);
    assert.equal(String(read.results[0]!.to[0]!.toObjectId), company!.id);
    const types = read.results[0]!.to[0]!.associationTypes.map((t) => t.typeId).sort((a, b) => a - b);
    assert.deepEqual(types, [1, 279]);
    const errs = (read as { errors?: Array<{ subCategory?: string }> }).errors!;
    assert.equal(errs[0]!.subCategory, 'crm.associations.NO_ASSOCIATIONS_FOUND');

    const wire = await raw(sb, 'GET', `/crm/v4/objects/companies/${company!.id}/associations/contacts`);
    const first = (wire.body!.results as Array<{ toObjectId: unknown; associationTypes: Array<{ category: string }> }>)[0]!;
    assert.equal(first.toObjectId, Number(contact!.id));
    assert.equal(first.associationTypes[0]!.category, 'HUBSPOT_DEFINED');

    const v3 = await client.crm.contacts.basicApi.getById(contact!.id, undefined, undefined, ['companies']);
    assert.deepEqual(
      v3.associations!.companies!.results.map((r) => r.type).sort(),
      ['contact_to_company', 'contact_to_company_unlabeled'],
    );
    const now = sb.get('contacts', contact!.id)!;
    assert.ok(Date.parse(now.updatedAt) > Date.parse(contact!.updatedAt), 'association change bumps lastmodified');

    await client.crm.associations.v4.basicApi.archive('contacts', contact!.id, 'companies', company!.id);
    assert.deepEqual(sb.associations('contacts', contact!.id, 'companies'), []);
    assert.deepEqual(sb.associations('companies', company!.id, 'contacts'), []);

    // labelled create with explicit types
    await client.crm.associations.v4.basicApi.create('deals', deal!.id, 'contacts', contact!.id, [
      { associationCategory: 'HUBSPOT_DEFINED' as never, associationTypeId: 3 },
    ]);
    assert.deepEqual(sb.associations('contacts', contact!.id, 'deals'), [deal!.id]);
  });
});

test('seeding 3000 realistic contacts: unique emails, realistic fields, deterministic', async () => {
  await withSandbox({}, async (sb, client) => {
    const recs = sb.seed('contacts', 3000);
    assert.equal(recs.length, 3000);
    const emails = new Set(recs.map((r) => r.properties.email!.toLowerCase()));
    assert.equal(emails.size, 3000);
    for (const r of recs.slice(0, 50)) {
      assert.match(r.properties.email!, /^[a-z0-9.]+@[a-z0-9.]+\.[a-z.]+$/);
      assert.ok(r.properties.firstname && r.properties.lastname && r.properties.phone);
      assert.equal(r.properties.hs_object_id, r.id);
    }
    assert.ok(recs.filter((r) => r.properties.hs_linkedin_url?.startsWith('https://www.linkedin.com/in/')).length > 2000);
    const deals = sb.seed('deals', 20);
    for (const d of deals) {
      assert.ok(Number(d.properties.amount) > 0);
      assert.ok(d.properties.dealstage && d.properties.hs_deal_stage_probability !== undefined);
      assert.match(d.properties.closedate!, /^\d{4}-\d{2}-\d{2}T00:00:00\.000Z$/);
    }
    const companies = sb.seed('companies', 20);
    assert.equal(new Set(companies.map((c) => c.properties.domain)).size, 20);
    assert.ok(companies.every((c) => c.properties.industry && c.properties.name));
    // same seed -> same data
    assert.deepEqual(seedRealistic('contacts', 5, { seed: 7 }), seedRealistic('contacts', 5, { seed: 7 }));
    const page = await client.crm.contacts.basicApi.getPage(100);
    assert.equal(page.results.length, 100);
  });
});

test('properties API: aurora_id is unique; custom properties can be created once', async () => {
  await withSandbox({}, async (sb, client) => {
    for (const type of ['contacts', 'companies', 'deals']) {
      const list = await client.crm.properties.coreApi.getAll(type);
      const aurora = list.results.find((p) => p.name === 'aurora_id');
      assert.ok(aurora, `${type} has aurora_id`);
      assert.equal(aurora.hasUniqueValue, true);
      const lm = list.results.find((p) => p.name === 'hs_lastmodifieddate')!;
      assert.equal(lm.modificationMetadata!.readOnlyValue, true);
    }
    const email = await client.crm.properties.coreApi.getByName('contacts', 'email');
    assert.equal(email.type, 'string');
    const def = { name: 'aurora_score', label: 'Aurora score', type: 'number', fieldType: 'number', groupName: 'aurora' };
    const created = await client.crm.properties.coreApi.create('contacts', def as never);
    assert.equal(created.name, 'aurora_score');
    const again = await apiError(client.crm.properties.coreApi.create('contacts', def as never));
    assert.equal(again.code, 409);
    // the new property is writable and searchable numerically
    const c = await client.crm.contacts.basicApi.create({ properties: { aurora_score: '42' }, associations: [] });
    assert.equal(sb.get('contacts', c.id)!.properties.aurora_score, '42');
    const missing = await apiError(client.crm.properties.coreApi.getByName('contacts', 'nope'));
    assert.equal(missing.code, 404);
  });
});

test('auth: missing bearer token -> 401 INVALID_AUTHENTICATION; accessToken option enforced', async () => {
  await withSandbox({ accessToken: 'right' }, async (sb) => {
    const none = await raw(sb, 'GET', '/crm/v3/objects/contacts', undefined, null);
    assert.equal(none.status, 401);
    assert.equal(none.body!.category, 'INVALID_AUTHENTICATION');
    assert.match(String(none.body!.message), /^Authentication credentials not found/);
    assert.equal((await raw(sb, 'GET', '/crm/v3/objects/contacts', undefined, 'wrong')).status, 401);
    assert.equal((await raw(sb, 'GET', '/crm/v3/objects/contacts', undefined, 'right')).status, 200);
  });
});

test('faults: 5xx rate, rate-limit burst, failNext after handling (write lands, client sees 504)', async () => {
  await withSandbox({}, async (sb, client) => {
    sb.faults.set({ error5xxRate: 1 });
    const e = await apiError(client.crm.contacts.basicApi.getPage());
    assert.ok([500, 502, 503].includes(e.code));
    assert.equal(e.body.category, 'INTERNAL_ERROR');
    sb.faults.clear();

    sb.faults.set({ rateLimitBurst: 2 });
    assert.equal((await raw(sb, 'GET', '/crm/v3/objects/contacts')).body!.policyName, 'TEN_SECONDLY_ROLLING');
    assert.equal((await raw(sb, 'GET', '/crm/v3/objects/contacts')).status, 429);
    assert.equal((await raw(sb, 'GET', '/crm/v3/objects/contacts')).status, 200);

    sb.faults.set({ failNext: { route: 'batch/upsert', status: 504, afterHandling: true } });
    const input = { inputs: [{ id: 'timeout-1', idProperty: 'aurora_id', properties: { firstname: 'T' } }] };
    const timeout = await apiError(client.crm.contacts.batchApi.upsert(input));
    assert.equal(timeout.code, 504);
    assert.equal(sb.list('contacts').filter((c) => c.properties.aurora_id === 'timeout-1').length, 1, 'the write landed');
    const retry = await client.crm.contacts.batchApi.upsert(input);
    assert.equal(retry.results[0]!._new, false, 'the retry finds it');

    sb.faults.set({ failNext: { route: /PATCH .*contacts/, status: 503 } });
    const id = sb.list('contacts')[0]!.id;
    assert.equal((await apiError(client.crm.contacts.basicApi.update(id, { properties: { firstname: 'X' } }))).code, 503);
    assert.equal(sb.get('contacts', id)!.properties.firstname, 'T', 'failed before handling: nothing written');
    const s = sb.stats();
    assert.equal(s.faulted, 5);
    assert.equal(s.byRoute['POST /crm/v3/objects/contacts/batch/upsert'], 2);
    sb.resetStats();
    assert.equal(sb.stats().requests, 0);
  });
});

test('admin HTTP API acts as a HubSpot user', async () => {
  await withSandbox({}, async (sb) => {
    const seeded = await raw(sb, 'POST', '/_sandbox/seed', { type: 'companies', count: 10 }, null);
    assert.equal(seeded.status, 201);
    assert.equal(seeded.body!.count, 10);
    const created = await raw(sb, 'POST', '/_sandbox/objects/contacts', { properties: { email: 'ui@example.com', firstname: 'Ui' } }, null);
    assert.equal(created.status, 201);
    const id = String(created.body!.id);
    const patched = await raw(sb, 'PATCH', `/_sandbox/objects/contacts/${id}`, { properties: { firstname: 'Edited', phone: null } }, null);
    assert.equal((patched.body!.properties as Record<string, string>).firstname, 'Edited');
    const bad = await raw(sb, 'PATCH', `/_sandbox/objects/contacts/${id}`, { properties: { nope: '1' } }, null);
    assert.equal(bad.status, 400);
    assert.equal((await raw(sb, 'DELETE', `/_sandbox/objects/contacts/${id}`, undefined, null)).status, 204);
    const dump = await raw(sb, 'GET', '/_sandbox/objects/contacts?archived=true', undefined, null);
    assert.equal((dump.body!.results as Array<{ archived: boolean }>)[0]!.archived, true);
    const faults = await raw(sb, 'PUT', '/_sandbox/faults', { failNext: { route: 'contacts', status: 500 } }, null);
    assert.equal(faults.status, 200);
    assert.equal((await raw(sb, 'GET', '/crm/v3/objects/contacts')).status, 500);
    const stats = await raw(sb, 'GET', '/_sandbox/stats', undefined, null);
    assert.equal(stats.body!.faulted, 1);
  });
});
