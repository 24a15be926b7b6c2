/**
 * Aurora Sync CLI.
 *   npm run cli -- trigger [system] [--entity contacts] [--connection c] [--wait]
 *   npm run cli -- status [--json]
 *   npm run cli -- conflicts list|show|resolve ...
 *   npm run cli -- deletions list|confirm ...
 *   npm run cli -- schedules list|trigger|pause|unpause|backfill ...
 * The same trigger works with the Temporal CLI:
 *   temporal workflow signal --workflow-id sync:hubspot --name trigger --input '{"entityType":"contact"}'
 */
import { parseArgs } from 'node:util';
import { loadConfigOrExit, type Config } from './config';
import { CONNECTORS, SYSTEM_NAMES, definitionOf, entityNames, entitySpec } from './connectors/registry';
import { DEFAULT_CONNECTION } from './core/model';
import { checkServices, cliServices, describeServiceError } from './core/preflight';
import { createConnectorPool, createRedis, systemConnections } from './deps';
import { listConflicts, loadConflict } from './store/conflicts';
import { createPool } from './store/db';
import { confirmHeldDeletions, listHeldDeletions } from './store/state';
import { operatorStatus, type BudgetView } from './status';
import { backfillSchedule, listSchedules, pauseSchedule, ScheduleInputError, triggerSchedule, unpauseSchedule } from './schedules';
import { connectClient, ensureSyncWorkflow, triggerSync } from './temporal';
import {
  conflictWorkflowId,
  resolveUpdate,
  syncNowUpdate,
  syncWorkflowId,
  validateResolution,
  type ResolutionInput,
} from './workflows/definitions';

const HELP = `Aurora Sync CLI

Usage:
  aurora-sync trigger [system] [--entity <type>] [--connection <id>] [--wait] [--timeout <seconds>]
      Wake the system's sync workflows (sync:<system>, or sync:<system>:<connection> for each
      connection, e.g. each Google user) now, for all entity types or one.
      --wait   run the cycle and print its outcome when it is done
  aurora-sync status [--json]
      A table per system, connection and entity type: status, records, open conflicts, last
      synced, next cycle (the sync workflow), next reconciliation (its schedule), request
      budget left, and notes (pull-only, held deletions, spent budget, last error).
      --json: the same as GET /api/sync/status.
  aurora-sync conflicts list
  aurora-sync conflicts show <id>
  aurora-sync conflicts resolve <id> --keep local|external [--by <name>] [--comment <text>]
  aurora-sync conflicts resolve <id> --field first_name=local --field phone=external --field email=value:a@b.example
      Open conflicts (ids as in the Temporal UI: conflict:<system>:<entity_type>:<local_id>): list them,
      show both sides and the base, resolve by keeping one side or choosing per field (the other
      fields merge: each side's own changes).
  aurora-sync deletions list
  aurora-sync deletions confirm <system> <entity_type> [--connection <id>]
      Deletions the mass-delete guard held back (a full listing that would delete more than
      MASS_DELETE_MAX_SHARE of a type's records): list them, or confirm them so the next pull applies them.
  aurora-sync schedules list [--json]
  aurora-sync schedules trigger <id>
  aurora-sync schedules pause <id> --reason <text>
  aurora-sync schedules unpause <id>
  aurora-sync schedules backfill <id> --from <ISO time> --to <ISO time>
      The Temporal Schedules: reconcile:<system>[:<connection>] (a full listing against the
      registry, RECONCILE_INTERVAL) and renew-channels:<system> (push channels and watches,
      CHANNEL_RENEW_INTERVAL). Also: temporal schedule list | describe --schedule-id <id> | trigger --schedule-id <id>
  aurora-sync --help

${CONNECTORS.map((d) => `${d.system}: ${d.entities.map((e) => e.plural).join(', ')}`).join('\n')}
Run with: npm run cli -- <command> ...   (configuration from the environment, see README)
Temporal CLI equivalent of trigger:
  temporal workflow signal --workflow-id sync:hubspot --name trigger --input '{"entityType":"contact"}'
`;

function fail(message: string): never {
  console.error(message);
  process.exit(2);
}

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      entity: { type: 'string', short: 'e' },
      wait: { type: 'boolean', short: 'w' },
      timeout: { type: 'string' },
      json: { type: 'boolean' },
      keep: { type: 'string' },
      field: { type: 'string', multiple: true },
      by: { type: 'string' },
      comment: { type: 'string' },
      connection: { type: 'string', short: 'c' },
      reason: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
    },
  });
  const [command, systemArg] = positionals;
  if (values.help || !command || command === 'help') {
    console.log(HELP);
    return;
  }
  const cfg = loadConfigOrExit();
  await checkServices(cfg, cliServices(command, systemArg));

  if (command === 'trigger') {
    const system = systemArg ?? 'hubspot';
    if (!definitionOf(system)) fail(`unknown system "${system}"; expected one of: ${SYSTEM_NAMES.join(', ')}`);
    let entityType: string | undefined;
    if (values.entity) {
      entityType = entitySpec(system, values.entity)?.type;
      if (!entityType) fail(`unknown entity type "${values.entity}" for ${system}; expected one of: ${entityNames(system)}`);
    }
    const connections = connectionsOf(cfg, system, values.connection);
    const client = await connectClient(cfg);
    try {
      for (const connection of connections) {
        const target = { system, connection };
        if (!values.wait) {
          const id = await triggerSync(client, cfg, target, entityType);
          console.log(`triggered ${id}${entityType ? ` (${entitySpec(system, entityType)!.plural})` : ''}`);
          continue;
        }
        await ensureSyncWorkflow(client, cfg, target, { runImmediately: false });
        const handle = client.workflow.getHandle(syncWorkflowId(system, cfg.temporal.workflowIdPrefix, connection));
        const timeoutMs = Number(values.timeout ?? 600) * 1000;
        const summary = await Promise.race([
          handle.executeUpdate(syncNowUpdate, { args: [{ entityType }] }),
          new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`no result within ${timeoutMs / 1000} s`)), timeoutMs).unref()),
        ]);
        for (const [type, st] of Object.entries(summary.entities)) {
          const pull = st.lastPull ? Object.entries(st.lastPull).map(([k, v]) => `${k}=${v}`).join(' ') : '-';
          const push = st.lastPush ? Object.entries(st.lastPush).map(([k, v]) => `${k}=${v}`).join(' ') : '-';
          const who = connection === DEFAULT_CONNECTION ? system : `${system} ${connection}`;
          console.log(`${who} ${type}: ${st.lastError ? `ERROR ${st.lastError}` : 'ok'}\n  pull: ${pull}\n  push: ${push}`);
        }
        if (Object.values(summary.entities).some((s) => s.lastError)) process.exitCode = 1;
      }
    } finally {
      await client.connection.close();
    }
    return;
  }

  if (command === 'status') {
    const db = createPool(cfg.postgres, 2);
    const client = await connectClient(cfg).catch(() => null);
    const redis = createRedis(cfg.redis);
    try {
      const status = await operatorStatus({ cfg, db, temporal: client, connectors: createConnectorPool(cfg, undefined, redis) });
      if (values.json) {
        console.log(JSON.stringify(status, null, 2));
        return;
      }
      const notes = systemConnections(cfg).filter((s) => s.notConfigured).map((s) => `${s.def.system}: not configured (${s.notConfigured})`);
      console.log(statusTable(status));
      if (notes.length) console.log(`\n${notes.join('\n')}`);
    } finally {
      redis.disconnect();
      await db.end();
      await client?.connection.close();
    }
    return;
  }
  if (command === 'deletions') {
    await deletionsCommand(cfg, positionals.slice(1), values.connection);
    return;
  }
  if (command === 'conflicts') {
    await conflictsCommand(cfg, positionals.slice(1), values);
    return;
  }
  if (command === 'schedules') {
    await schedulesCommand(cfg, positionals.slice(1), values);
    return;
  }
  fail(`unknown command "${command}"\n\n${HELP}`);
}

async function schedulesCommand(cfg: Config, args: string[], values: { reason?: string; from?: string; to?: string; json?: boolean }): Promise<void> {
  const [sub, id] = args;
  const client = await connectClient(cfg);
  try {
    if (sub === 'list') {
      const list = await listSchedules(client, cfg);
      if (values.json) return void console.log(JSON.stringify(list, null, 2));
      if (!list.length) return void console.log('no schedules (the worker creates them at start)');
      for (const s of list) {
        console.log(`${s.id}  every ${s.every}${s.paused ? `  PAUSED (${s.note ?? 'no reason'})` : ''}  next ${s.nextRuns[0] ?? '-'}  last ${s.recentRuns.at(-1)?.takenAt ?? 'never'}`);
        if (s.summary) console.log(`    ${s.summary}`);
      }
      return;
    }
    if (sub === 'trigger') await triggerSchedule(client, cfg, id);
    else if (sub === 'pause') await pauseSchedule(client, cfg, id, values.reason);
    else if (sub === 'unpause') await unpauseSchedule(client, cfg, id);
    else if (sub === 'backfill') await backfillSchedule(client, cfg, id, values.from, values.to);
    else fail(`unknown schedules command "${sub ?? ''}"; expected list, trigger, pause, unpause or backfill`);
    console.log(`${id}: ${sub === 'trigger' ? 'triggered' : sub === 'backfill' ? 'backfill requested' : `${sub}d`}`);
  } catch (err) {
    if (err instanceof ScheduleInputError) fail(err.message);
    throw err;
  } finally {
    await client.connection.close();
  }
}

async function conflictsCommand(
  cfg: Config,
  args: string[],
  values: { keep?: string; field?: string[]; by?: string; comment?: string; json?: boolean },
): Promise<void> {
  const [sub, rawId] = args;
  const db = createPool(cfg.postgres, 2);
  try {
    if (sub === 'list') {
      const list = await listConflicts(db);
      if (values.json) return void console.log(JSON.stringify(list, null, 2));
      if (!list.length) return void console.log('no open conflicts');
      for (const c of list) console.log(`conflict:${c.system}:${c.entity_type}:${c.local_id}  fields: ${c.fields.join(', ') || '-'}  since ${c.detected_at}`);
      return;
    }
    if (sub !== 'show' && sub !== 'resolve') fail(`unknown conflicts command "${sub ?? ''}"; expected list, show or resolve`);
    const m = /^(?:conflict:)?([a-z_]+):([a-z_]+):(.+)$/.exec(rawId ?? '');
    const spec = m ? entitySpec(m[1]!, m[2]) : undefined;
    if (!m || !spec) fail(`give a conflict id like conflict:hubspot:contact:<local_id> (see: conflicts list)`);
    const [system, localId, entityType] = [m[1]!, m[3]!, spec.type];
    const details = await loadConflict(db, system, spec, localId);
    if (!details) fail(`no conflict ${rawId}`);
    if (sub === 'show') {
      if (values.json) return void console.log(JSON.stringify(details, null, 2));
      console.log(`conflict:${system}:${entityType}:${localId}  (${details.status}; external id ${details.externalId})`);
      console.log(`  Aurora changed ${details.local.updated_at}${details.local.deleted ? ' (deleted)' : ''}; external changed ${details.external.updated_at}`);
      for (const f of Object.keys(details.kinds)) {
        const mark = details.fields.includes(f) ? '*' : ' ';
        console.log(`${mark} ${f.padEnd(14)} base=${JSON.stringify(details.base?.[f] ?? null)} aurora=${JSON.stringify(details.local.values[f] ?? null)} external=${JSON.stringify(details.external.values[f] ?? null)}`);
      }
      console.log('  (* = changed on both sides)');
      return;
    }
    const resolution: ResolutionInput = { choice: 'local', resolvedBy: values.by ?? process.env.USER ?? 'cli' };
    if (values.comment) resolution.comment = values.comment;
    if (values.field?.length) {
      resolution.choice = 'merged';
      resolution.fields = {};
      for (const spec of values.field) {
        const eq = spec.indexOf('=');
        if (eq < 1) fail(`--field ${spec}: expected name=local, name=external or name=value:<text>`);
        const name = spec.slice(0, eq);
        const v = spec.slice(eq + 1);
        resolution.fields[name] = v === 'local' || v === 'external' ? v : v.startsWith('value:') ? { value: v.slice(6) } : fail(`--field ${spec}: expected local, external or value:<text>`);
      }
    } else if (values.keep === 'local' || values.keep === 'external') resolution.choice = values.keep;
    else fail('say what to keep: --keep local|external, or --field name=local|external|value:<text> per field');
    const error = validateResolution(resolution, details);
    if (error) fail(`invalid resolution: ${error}`);
    if (details.status !== 'conflict') fail('this conflict is already being resolved');
    const client = await connectClient(cfg);
    try {
      const handle = client.workflow.getHandle(conflictWorkflowId(system, entityType, localId, cfg.temporal.workflowIdPrefix));
      const result = await handle.executeUpdate(resolveUpdate, { args: [resolution] });
      console.log(result.summary);
    } finally {
      await client.connection.close();
    }
  } finally {
    await db.end();
  }
}

/** The connections a command names (--connection), or all of the system's; fails with the valid ones. */
function connectionsOf(cfg: Config, system: string, given: string | undefined): string[] {
  const known = systemConnections(cfg).find((s) => s.def.system === system);
  if (!known?.connections.length) fail(`${system} is not configured (${known?.notConfigured ?? 'no credentials'})`);
  if (given === undefined) return known.connections;
  if (!known.connections.includes(given)) fail(`unknown connection "${given}" for ${system}; expected one of: ${known.connections.join(', ')}`);
  return [given];
}

async function deletionsCommand(cfg: Config, args: string[], connection: string | undefined): Promise<void> {
  const [sub, system, type] = args;
  const db = createPool(cfg.postgres, 2);
  try {
    if (sub === 'list') {
      const held = await listHeldDeletions(db);
      if (!held.length) return void console.log('no deletions held by the mass-delete guard');
      for (const h of held) {
        console.log(`${h.system} ${h.connection} ${h.entityType}: ${h.count} of ${h.total} would be deleted (found ${h.detectedAt})${h.confirmed ? ' — confirmed, applied by the next pull' : ''}`);
      }
      return;
    }
    if (sub !== 'confirm') fail(`unknown deletions command "${sub ?? ''}"; expected list or confirm`);
    if (!system || !definitionOf(system)) fail(`give the system: one of ${SYSTEM_NAMES.join(', ')}`);
    const spec = entitySpec(system, type);
    if (!spec) fail(`give the entity type of ${system}: one of ${entityNames(system)}`);
    const conn = connection ?? DEFAULT_CONNECTION;
    if (!(await confirmHeldDeletions(db, { system, connection: conn, entityType: spec.type }))) {
      fail(`no deletions held for ${system} ${conn} ${spec.plural} (see: deletions list)`);
    }
    const client = await connectClient(cfg);
    try {
      const id = await triggerSync(client, cfg, { system, connection: conn }, spec.type);
      console.log(`confirmed; ${id} applies them now`);
    } finally {
      await client.connection.close();
    }
  } finally {
    await db.end();
  }
}

main(process.argv.slice(2)).catch((err) => {
  console.error(describeServiceError(err) ?? (err instanceof Error ? err.message : String(err)));
  process.exit(1);
});

/** The status as a table: one row per system, connection and entity type. */
export function statusTable(status: Awaited<ReturnType<typeof operatorStatus>>): string {
  const when = (iso: string | null) => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, 'Z') : '-');
  const budget = (bs: BudgetView[]) => bs.map((b) => `${b.remaining ?? '?'}/${b.limit} per ${b.window}`).join(', ') || '-';
  const rows: string[][] = [['SYSTEM', 'CONNECTION', 'TYPE', 'STATUS', 'RECORDS', 'CONFLICTS', 'LAST SYNCED', 'NEXT RUN', 'NEXT RECONCILE', 'BUDGET LEFT', 'NOTES']];
  for (const [system, types] of Object.entries(status)) {
    for (const [type, st] of Object.entries(types)) {
      const notes = (x: { last_error: string | null; held_deletions?: number; deferred_until?: string; local_edits_not_pushed?: number }) =>
        [
          st.direction === 'pull-only' ? 'pull-only' : '',
          x.local_edits_not_pushed ? `${x.local_edits_not_pushed} local edits not pushed` : '',
          x.held_deletions ? `${x.held_deletions} deletions held` : '',
          x.deferred_until ? `budget spent until ${when(x.deferred_until)}` : '',
          x.last_error ? `last error: ${x.last_error.slice(0, 120)}` : '',
        ].filter(Boolean).join('; ');
      const conns = st.connections ? Object.entries(st.connections) : [[DEFAULT_CONNECTION, st] as const];
      for (const [connection, c] of conns) {
        rows.push([system, connection, type, c.status, String(c.records), String(c.open_conflicts), when(c.last_synced), when(c.next_run), when(c.next_reconcile), budget(c.rate_budget), notes(c)]);
      }
    }
  }
  const widths = rows[0]!.map((_, k) => Math.max(...rows.map((r) => r[k]!.length)));
  return rows.map((r) => r.map((cell, k) => (k === r.length - 1 ? cell : cell.padEnd(widths[k]!))).join('  ').trimEnd()).join('\n');
}
