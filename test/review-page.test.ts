/** The conflict review page in headless Chromium (Debian's chromium, driven by playwright-core). */
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
  test('shows both sides with the conflicting field highlighted, and resolves per field with a click', async () => {
    const h = await setup({ env: { CONFLICT_POLICY_HUBSPOT_CONTACT: 'manual' } });
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
      await page.goto(`http://127.0.0.1:${port}/conflicts`);
      await page.fill('#token', 'test-api-token');
      await page.fill('#who', 'page-user');
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
