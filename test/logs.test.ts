/**
 * Issue 11: logs are structured JSON with system, connection, entity type and workflow/run ids, and
 * never carry a secret or record content at info level or above. A real worker runs a cycle of
 * HubSpot and of a Google connection with seeded records, pushes an Aurora record, meets a record
 * Postgres rejects and an entity type HubSpot refuses; every line written to stderr meanwhile
 * (src/log.ts and the Temporal SDK's own lines, routed through sdkLogger as src/worker.ts does) is checked.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Runtime } from '@temporalio/worker';
import type { Logger } from '@temporalio/common';
import { harnessPerTest } from './helpers';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { redactUpstream, sdkLogger } from '../src/log';
import { HubSpotConnector } from '../src/connectors/hubspot/connector';
import { googleFailure } from '../src/connectors/google_workspace/errors';
import { syncWorkflowId } from '../src/workflows/definitions';
import { DEFAULT_CONNECTION } from '../src/core/model';

const setup = harnessPerTest();
const ANA = 'ana@acme.test';
const LEVELS = ['debug', 'info', 'warn', 'error'];

type Line = Record<string, unknown> & { ts: string; level: string; msg: string };

/** Everything written to stderr until stop(), split into lines (nothing reaches the terminal meanwhile). */
function captureStderr(): { lines: string[]; stop(): void } {
  const lines: string[] = [];
  let partial = '';
  const real = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    partial += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    const parts = partial.split('\n');
    partial = parts.pop()!;
    lines.push(...parts.filter((l) => l.length));
    const cb = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
    cb?.();
    return true;
  }) as typeof process.stderr.write;
  return {
    lines,
    stop() {
      process.stderr.write = real;
      if (partial) lines.push(partial);
    },
  };
}

/** String values under keys that hold a record's content (names, emails, phones, subjects, bodies, titles). */
const CONTENT_KEYS = new Set(['firstname', 'lastname', 'email', 'phone', 'name', 'dealname', 'domain', 'summary', 'description', 'location', 'snippet', 'subject', 'value', 'displayName', 'title', 'text']);
function contentOf(value: unknown, out: Set<string>, key = ''): Set<string> {
  if (typeof value === 'string') {
    if (CONTENT_KEYS.has(key) && value.trim().length >= 5) out.add(value);
  } else if (Array.isArray(value)) {
    for (const v of value) contentOf(v, out, key);
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) contentOf(v, out, k);
  }
  return out;
}

describe('logs', () => {
  test('JSON lines with workflow/run ids and system/connection/entity type; no secret, no record content', async () => {
    const started = Date.now();
    const h = await setup({ google: { users: [ANA] }, worker: false, env: { LOG_LEVEL: 'debug' } });
    // The harness installed a plain-text runtime logger for every test; this worker's SDK lines go
    // through the one src/worker.ts installs (read by the worker when it is created).
    (Runtime.instance() as unknown as { logger: Logger }).logger = sdkLogger('DEBUG');
    const prefix = h.cfg.temporal.workflowIdPrefix;
    const hubspotWf = syncWorkflowId('hubspot', prefix);
    const googleWf = syncWorkflowId('google_workspace', prefix, ANA);

    // Seeded records on every side.
    const seeded: unknown[] = [h.sandbox.seed('contacts', 4), h.sandbox.seed('companies', 2)];
    const deals = h.sandbox.seed('deals', 3);
    seeded.push(deals);
    const g = h.google!;
    seeded.push(g.calendar.seed(ANA, ANA, 6), g.gmail.seed(ANA, 4), g.drive.seed(ANA, 4));
    const aurora = { first_name: 'Philippa', last_name: 'Quenneville', email: 'philippa.quenneville@aurora.example', phone: '+1 555 0199 7788' };
    // An Aurora record HubSpot refuses: its 400 quotes the value ("Email address … is invalid").
    const refusedEmail = 'zelda.refused@nowhere';

    const cap = captureStderr();
    try {
      await h.startWorker();
      const hs = await h.cycle();
      for (const [t, e] of Object.entries(hs.entities)) assert.equal(e?.lastError, null, `hubspot ${t}`);
      const gs = await h.cycleOf({ system: 'google_workspace', connection: ANA });
      for (const [t, e] of Object.entries(gs.entities)) assert.equal(e?.lastError, null, `google ${t}`);
      // An Aurora record pushed to HubSpot.
      await h.db.query('INSERT INTO contacts (first_name, last_name, email, phone) VALUES ($1, $2, $3, $4)', [aurora.first_name, aurora.last_name, aurora.email, aurora.phone]);
      const bad = await h.db.query<{ id: string }>("INSERT INTO contacts (first_name, last_name, email) VALUES ('Zelda', 'Refusedsson', $1) RETURNING id", [refusedEmail]);
      seeded.push([{ email: refusedEmail, lastname: 'Refusedsson' }]);
      await h.cycle('contact');
      // Stored for the status without the value: status, category, error code and property name only.
      const reg = await h.db.query<{ sync_status: string; error_message: string }>('SELECT sync_status, error_message FROM sync_registry WHERE local_id = $1', [bad.rows[0]!.id]);
      assert.equal(reg.rows[0]?.sync_status, 'error');
      assert.match(reg.rows[0]!.error_message, /HTTP 400 VALIDATION_ERROR/);
      assert.match(reg.rows[0]!.error_message, /"error":"INVALID_EMAIL","name":"email"/);
      assert.ok(!reg.rows[0]!.error_message.includes(refusedEmail), `the refused value is not stored: ${reg.rows[0]!.error_message}`);
      // A record Postgres rejects (an amount beyond NUMERIC(18,2)): a warning, the rest syncs.
      h.sandbox.userUpdate('deals', deals[0]!.id, { amount: '1e20', dealname: 'Confidential Merger Talks' });
      seeded.push([{ dealname: 'Confidential Merger Talks' }]);
      const rejected = await h.cycle('deal');
      assert.equal(rejected.entities.deal?.lastPull?.failed, 1);
      // An entity type HubSpot refuses: the activity fails (the SDK's line) and the outcome is logged.
      h.sandbox.faults.set({ failNext: { route: 'companies/search', status: 400, count: 1000 } });
      const refused = await h.cycle('company');
      assert.match(refused.entities.company?.lastError ?? '', /BAD_REQUEST/);
      h.sandbox.faults.clear();
      await h.stopWorker();
    } finally {
      cap.stop();
    }

    // 1. Every line is JSON with ts, level and msg.
    assert.ok(cap.lines.length > 10, `lines were logged (${cap.lines.length})`);
    const lines: Line[] = cap.lines.map((raw) => {
      let l: Line;
      try {
        l = JSON.parse(raw) as Line;
      } catch {
        assert.fail(`not a JSON line: ${raw.slice(0, 300)}`);
      }
      assert.ok(typeof l.ts === 'string' && !Number.isNaN(Date.parse(l.ts)), `ts: ${raw}`);
      assert.ok(LEVELS.includes(l.level), `level: ${raw}`);
      assert.ok(typeof l.msg === 'string' && l.msg.length, `msg: ${raw}`);
      return l;
    });

    // 2. Lines logged from an activity carry the ids of the sync workflow of that system and connection.
    const runIds = new Map<string, Set<string>>();
    for (const wf of [hubspotWf, googleWf]) {
      const ids = new Set<string>();
      for await (const r of h.client.workflow.list({ query: `WorkflowId = "${wf}"` })) ids.add(r.runId);
      runIds.set(wf, ids);
    }
    const fromActivity = lines.filter((l) => l.activity !== undefined || l.sdk_component === 'activity' || ['record not applied', 'sync failed'].includes(l.msg));
    assert.ok(fromActivity.length, 'activity lines were logged');
    for (const l of fromActivity) {
      const raw = JSON.stringify(l);
      assert.ok(typeof l.workflow_id === 'string' && typeof l.run_id === 'string', `workflow_id and run_id: ${raw}`);
      assert.ok(typeof l.activity === 'string' && typeof l.attempt === 'number', `activity and attempt: ${raw}`);
      assert.ok(runIds.has(l.workflow_id as string), `a sync workflow of this test: ${raw}`);
      assert.ok(runIds.get(l.workflow_id as string)!.has(l.run_id as string), `a run of ${l.workflow_id}: ${raw}`);
      if (typeof l.system === 'string') assert.equal(l.workflow_id, syncWorkflowId(l.system, prefix, (l.connection as string) ?? DEFAULT_CONNECTION), raw);
    }
    for (const wf of [hubspotWf, googleWf]) assert.ok(fromActivity.some((l) => l.workflow_id === wf), `lines from activities of ${wf}`);

    // 3. Entity-level lines name system, connection and entity type.
    const notApplied = lines.filter((l) => l.msg === 'record not applied');
    assert.equal(notApplied.length, 1, 'the rejected deal was logged once');
    assert.equal(notApplied[0]!.level, 'warn');
    assert.equal(notApplied[0]!.external_id, deals[0]!.id);
    assert.equal(notApplied[0]!.workflow_id, hubspotWf);
    assert.equal(notApplied[0]!.activity, 'pullEntity');
    const failed = lines.filter((l) => l.msg === 'sync failed');
    assert.ok(failed.length >= 1 && failed.every((l) => l.entity_type === 'company' && l.workflow_id === hubspotWf), JSON.stringify(failed));
    const sdkFailed = lines.filter((l) => l.msg === 'Activity failed');
    assert.ok(sdkFailed.length >= 1, 'the SDK logged the failed activity');
    for (const l of sdkFailed) assert.ok(l.level === 'warn' && l.workflow_id === hubspotWf && typeof l.error === 'string', JSON.stringify(l));
    const entityLevel = lines.filter((l) => l.entity_type !== undefined || l.external_id !== undefined || ['record not applied', 'sync failed', 'mass deletion held', 'full resync'].includes(l.msg));
    for (const l of entityLevel) {
      for (const k of ['system', 'connection', 'entity_type']) assert.ok(typeof l[k] === 'string' && (l[k] as string).length, `${k}: ${JSON.stringify(l)}`);
    }
    for (const l of lines.filter((l) => l.system === 'google_workspace')) assert.equal(l.connection, ANA, JSON.stringify(l));

    // 4. No secret at any level: HubSpot token, API token, the Google key's material, access tokens, task tokens.
    const key = JSON.parse(readFileSync(h.env.GOOGLE_CREDENTIALS_PATH!, 'utf8')) as { private_key: string; private_key_id: string; client_id: string };
    const keyBody = key.private_key.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
    const secrets: [string, string][] = [
      ['HUBSPOT_API_KEY', h.env.HUBSPOT_API_KEY!],
      ['API_TOKEN', h.env.API_TOKEN!],
      ['Google private_key_id', key.private_key_id],
      ['Google client_id', key.client_id],
      ['Google private key (start)', keyBody.slice(0, 40)],
      ['Google private key (middle)', keyBody.slice(400, 440)],
      ['Google private key (PEM header)', 'PRIVATE KEY'],
    ];
    assert.ok(secrets.every(([, s]) => s && s.length >= 8), 'secrets were read');
    for (const raw of cap.lines) {
      for (const [what, s] of secrets) assert.ok(!raw.includes(s), `${what} in a log line: ${raw.slice(0, 300)}`);
      assert.ok(!/task_?token/i.test(raw), `a task token in a log line: ${raw.slice(0, 300)}`);
      // access tokens the Google sandbox issues look like Google's (ya29.…); none, and no Authorization header
      assert.ok(!/ya29\.|bearer |authorization/i.test(raw), `an access token in a log line: ${raw.slice(0, 300)}`);
    }

    // 5. No record content at info level or above (the connection's own address is its id, not content).
    const content = [...contentOf([...seeded, aurora], new Set<string>())].filter((s) => s.toLowerCase() !== ANA && !/^\d+(\.\d+)?$/.test(s));
    assert.ok(content.length > 30, `seeded content collected (${content.length})`);
    assert.ok(content.includes(aurora.email) && content.includes('Confidential Merger Talks'));
    const loud = lines.filter((l) => l.level !== 'debug');
    assert.ok(loud.length >= 3, 'info and warn lines were logged');
    for (const l of loud) {
      const raw = JSON.stringify(l);
      for (const c of content) assert.ok(!raw.includes(c), `record content ${JSON.stringify(c)} at ${l.level}: ${raw.slice(0, 300)}`);
    }
    process.stdout.write(`# ${cap.lines.length} lines (${loud.length} at info or above, ${fromActivity.length} from activities), ${content.length} content strings checked, ${Date.now() - started} ms\n`);
  });
});

describe('upstream error texts', () => {
  test('redactUpstream keeps status, category, codes and property names; quoted values, emails and phone numbers go', () => {
    const hs = 'HTTP 400 VALIDATION_ERROR: Property values were not valid: [{"isValid":false,"message":"Email address jane@example is invalid","error":"INVALID_EMAIL","name":"email","localizedErrorMessage":"Email address jane@example is invalid"},{"isValid":false,"message":"Jane Smith was not a valid number.","error":"INVALID_FLOAT","name":"amount"}]';
    assert.equal(redactUpstream(hs), 'HTTP 400 VALIDATION_ERROR: Property values were not valid: [{"isValid":false,"error":"INVALID_EMAIL","name":"email"},{"isValid":false,"error":"INVALID_FLOAT","name":"amount"}]');
    const cases: [string, string][] = [
      ['A company with domain "acme-secret.example" already exists (domain has unique values). Existing ID: 12345678901', 'A company with domain "…" already exists (domain has unique values). Existing ID: 12345678901'],
      ["Property named 'hs_lead_status' already exists.", "Property named 'hs_lead_status' already exists."],
      ['Property "nickname" does not exist', 'Property "nickname" does not exist'],
      ['Invalid attendee email: bob.smith@corp.example.com', 'Invalid attendee email: <email>'],
      ['call +1 (555) 010-9999 or 555-0100; at 2026-12-01T10:00:00Z (2026-12-01) from 192.168.100.200, v1.24.0, id 12345678901', 'call <phone> or <phone>; at 2026-12-01T10:00:00Z (2026-12-01) from 192.168.100.200, v1.24.0, id 12345678901'],
      ["the contact's name isn't 'Philippa Quenneville'", 'the contact\'s name isn\'t "…"'],
      ['HubSpot rate limit (TEN_SECONDLY_ROLLING); retry in 10 s', 'HubSpot rate limit (TEN_SECONDLY_ROLLING); retry in 10 s'],
      ['{"status":"error","message":"Bad: \'Zed\'","category":"VALIDATION_ERROR","errors":[{"message":"zed@x.io","code":"INVALID_EMAIL","context":{"propertyName":["email"]}}]}', '{"status":"error","category":"VALIDATION_ERROR","errors":[{"code":"INVALID_EMAIL","context":{"propertyName":["email"]}}]}'],
      ['connect ECONNREFUSED 127.0.0.1:5432', 'connect ECONNREFUSED 127.0.0.1:5432'],
    ];
    for (const [raw, safe] of cases) {
      assert.equal(redactUpstream(raw), safe, raw);
      assert.equal(redactUpstream(safe), safe, `idempotent: ${safe}`);
    }
    const google = googleFailure({ config: {}, response: { status: 400, data: { error: { code: 400, message: 'Invalid attendee email: "ada.secret@acme.test"', errors: [{ reason: 'invalid' }] } } } });
    assert.deepEqual(google, { status: 400, reason: 'invalid', message: 'Invalid attendee email: "…"', oauth: false });
  });

  test('the HubSpot connector maps a 400 that quotes a value to a safe text: in a push outcome and in a failed search', async () => {
    const quoting = JSON.stringify({
      status: 'error',
      message: 'Property values were not valid: [{"isValid":false,"message":"Email address ursula.quoted@nowhere is invalid","error":"INVALID_EMAIL","name":"email"}]',
      correlationId: 'c0ffee',
      category: 'VALIDATION_ERROR',
    });
    const server: Server = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(400, { 'content-type': 'application/json' }).end(quoting));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const c = new HubSpotConnector({ connection: 'default', accessToken: 'pat-test', baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, ratePer10s: 100, searchPerSecond: 5, searchLookbackMs: 0, maxAttempts: 1 });
      const [out] = await c.create('contact', [{ localId: '00000000-0000-0000-0000-000000000001', fields: { email: 'ursula.quoted@nowhere', first_name: 'Ursula' } }]);
      assert.ok(out && !out.ok);
      assert.equal(out.error, 'HTTP 400 VALIDATION_ERROR: Property values were not valid: [{"isValid":false,"error":"INVALID_EMAIL","name":"email"}]');
      await assert.rejects(
        (async () => {
          for await (const page of c.listChanges('contact', null, false)) void page;
        })(),
        (err: Error) => /HubSpot rejected the request: HTTP 400 VALIDATION_ERROR/.test(err.message) && /INVALID_EMAIL/.test(err.message) && !err.message.includes('ursula'),
      );
    } finally {
      server.close();
    }
  });
});
