/**
 * The conflict review page in headless Chromium (Debian's chromium, driven by playwright-core):
 * nothing without a token (the page carries no data and the API refuses), a wrong token said so,
 * the read-only token shows but cannot resolve, the API token resolves; the token lives in
 * sessionStorage only.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { buildApi } from '../src/api/server';
import { conflictWorkflowId } from '../src/workflows/definitions';
import { harnessPerTest } from './helpers';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const setup = harnessPerTest();

describe('review page', { skip: existsSync(CHROMIUM) ? false : `no browser at ${CHROMIUM} (setup installs Debian's chromium)` }, () => {
  test('asks for the token and shows nothing without it; shows both sides with the conflicting field highlighted, and resolves per field with a click', async () => {
    const h = await setup({ env: { CONFLICT_POLICY_HUBSPOT_CONTACT: 'manual', API_READ_TOKEN: 'test-read-token' } });
    const [rec] = h.sandbox.seed('contacts', 1);
    await h.cycle('contact');
    const { rows } = await h.db.query('SELECT local_id FROM sync_registry WHERE external_id = $1', [rec!.id]);
    const localId = rows[0].local_id as string;
    await h.db.query(`UPDATE contacts SET first_name = 'Aurora-First', last_name = 'Aurora-Last' WHERE id = $1`, [localId]);
    await new Promise((r) => setTimeout(r, 25));
    h.sandbox.userUpdate('contacts', rec!.id, { firstname: 'HubSpot-First', phone: '+1 555 0142' });
    await h.cycle('contact');

    const app = buildApi({ cfg: h.cfg, db: h.db, temporal: h.client, configuredSystems: new Set(['hubspot']) });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as { port: number };
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      const page = await browser.newPage();
      const apiCalls: { url: string; auth: string | undefined; status?: number }[] = [];
      page.on('response', (res) => {
        if (new URL(res.url()).pathname.startsWith('/api/')) apiCalls.push({ url: res.url(), auth: res.request().headers().authorization, status: res.status() });
      });
      // The page itself holds no record content; without a token it asks for one and fetches nothing.
      const shell = await fetch(`http://127.0.0.1:${port}/conflicts`);
      const html = await shell.text();
      for (const value of ['Aurora-First', 'Aurora-Last', 'HubSpot-First', '+1 555 0142', localId]) assert.ok(!html.includes(value), `the page source has no ${value}`);
      assert.equal(shell.headers.get('cache-control'), 'no-store');
      await page.goto(`http://127.0.0.1:${port}/conflicts`);
      await page.waitForSelector('#message.error');
      assert.match((await page.textContent('#message')) ?? '', /Enter the API token/);
      assert.equal(await page.$$eval('ul#list li', (lis) => lis.length), 0, 'no conflict listed without a token');
      assert.equal(await page.isHidden('#detail'), true);
      assert.equal(apiCalls.length, 0, 'no API call without a token');
      const bodyText = (await page.textContent('body')) ?? '';
      for (const value of ['Aurora-First', 'HubSpot-First', '+1 555 0142', localId]) assert.ok(!bodyText.includes(value), `nothing of the record shown (${value})`);
      // The API refuses the data without a token, or with a wrong one, and says nothing of the record.
      for (const headers of [{}, { authorization: 'Bearer wrong-token' }, { authorization: 'test-api-token' }] as Record<string, string>[]) {
        for (const path of ['/api/conflicts', `/api/conflicts/${encodeURIComponent(`conflict:hubspot:contact:${localId}`)}`]) {
          const res = await fetch(`http://127.0.0.1:${port}${path}`, { headers });
          const text = await res.text();
          assert.equal(res.status, 401, `${path} with ${JSON.stringify(headers)}`);
          for (const value of ['Aurora-First', 'HubSpot-First', '+1 555 0142', localId]) assert.ok(!text.includes(value));
        }
      }

      // A wrong token: a clear message, still nothing shown, the token forgotten.
      await page.fill('#token', 'not-the-token');
      await page.click('#show');
      await page.locator('#message', { hasText: /Wrong or missing token/ }).waitFor();
      assert.equal(await page.$$eval('ul#list li', (lis) => lis.length), 0);
      assert.equal(await page.evaluate(() => sessionStorage.getItem('aurora-token')), null);
      assert.equal(apiCalls.at(-1)?.status, 401);

      // The read-only token shows the conflict but cannot resolve it.
      await page.fill('#token', 'test-read-token');
      await page.click('#show');
      await page.fill('#who', 'page-user');
      await page.click(`li[data-id="conflict:hubspot:contact:${localId}"]`);
      await page.waitForSelector('#detail:not([hidden])');
      await page.click('#keep-local');
      await page.locator('#message', { hasText: /read-only token/ }).waitFor();
      assert.equal(apiCalls.at(-1)?.status, 403);
      assert.equal(await page.evaluate(() => sessionStorage.getItem('aurora-token')), 'test-read-token', 'kept for the session');
      assert.equal(await page.evaluate(() => localStorage.getItem('aurora-token')), null, 'never in localStorage');
      assert.ok(apiCalls.every((c) => c.status === 401 || c.auth === 'Bearer test-read-token'), 'the token goes as a bearer header');
      assert.deepEqual(await page.context().cookies(), [], 'no cookie');
      // A reload within the session keeps it; "forget" drops it and the data with it.
      await page.reload();
      await page.waitForSelector(`li[data-id="conflict:hubspot:contact:${localId}"]`);
      await page.click('#signout');
      assert.equal(await page.$$eval('ul#list li', (lis) => lis.length), 0);
      assert.equal(await page.evaluate(() => sessionStorage.getItem('aurora-token')), null);

      // The API token resolves.
      await page.fill('#token', 'test-api-token');
      await page.click('#show');
      await page.click(`li[data-id="conflict:hubspot:contact:${localId}"]`);
      await page.waitForSelector('#detail:not([hidden])');
      const highlighted = await page.$$eval('tr.conflicting td.field', (tds) => tds.map((td) => td.textContent));
      assert.deepEqual(highlighted, ['first_name']);
      const cells = await page.$$eval('tr.conflicting td', (tds) => tds.map((td) => td.textContent));
      assert.equal(cells[2], 'Aurora-First');
      assert.equal(cells[3], 'HubSpot-First');
      mkdirSync(join(__dirname, '..', '.data'), { recursive: true });
      await page.screenshot({ path: join(__dirname, '..', '.data', 'review-page.png'), fullPage: true });
      // Keep HubSpot's first name; the other fields merge (Aurora's last name, HubSpot's phone).
      await page.check('input[name="pick-first_name"][value="external"]');
      await page.click('#merge');
      await page.waitForSelector('#message.ok');
      assert.match((await page.textContent('#message')) ?? '', /resolved by page-user/);
    } finally {
      await browser.close();
      await app.close();
    }
    const result = await h.client.workflow.getHandle(conflictWorkflowId('hubspot', 'contact', localId, h.cfg.temporal.workflowIdPrefix)).result();
    assert.equal(result.choice, 'merged');
    const local = (await h.db.query('SELECT * FROM contacts WHERE id = $1', [localId])).rows[0];
    assert.equal(local.first_name, 'HubSpot-First');
    assert.equal(local.last_name, 'Aurora-Last');
    assert.equal(local.phone, '+1 555 0142');
    const remote = h.sandbox.get('contacts', rec!.id)!.properties;
    assert.equal(remote.firstname, 'HubSpot-First');
    assert.equal(remote.lastname, 'Aurora-Last');
  });
});
