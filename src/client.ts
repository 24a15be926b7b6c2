/**
 * Aurora Sync CLI.
 *   npm run cli -- trigger [system] [--entity contacts] [--wait]
 *   npm run cli -- status [--json]
 * The same trigger works with the Temporal CLI:
 *   temporal workflow signal --workflow-id sync:hubspot --name trigger --input '{"entityType":"contact"}'
 */
import { parseArgs } from 'node:util';
import { loadConfigOrExit } from './config';
import { ENTITIES, ENTITY_TYPES, parseEntityType, type EntityType } from './core/entities';
import { createPool } from './store/db';
import { syncStatus } from './store/status';
import { connectClient, ensureSyncWorkflow, queryStatus, triggerSync } from './temporal';
import { SYSTEMS, syncNowUpdate, syncWorkflowId, type SystemName } from './workflows/definitions';

const HELP = `Aurora Sync CLI

Usage:
  aurora-sync trigger [system] [--entity <type>] [--wait] [--timeout <seconds>]
      Wake the system's sync workflow (sync:<system>) now, for all entity types or one.
      --wait   run the cycle and print its outcome when it is done
  aurora-sync status [--json]
      Per system and entity type: last synced, records, status (from the sync registry),
      plus the running workflow's cursor, counts and last error.
  aurora-sync --help

Systems: ${SYSTEMS.join(', ')}      Entity types: ${ENTITY_TYPES.map((t) => ENTITIES[t].plural).join(', ')}
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
    },
  });
  const [command, systemArg] = positionals;
  if (values.help || !command || command === 'help') {
    console.log(HELP);
    return;
  }
  const cfg = loadConfigOrExit();

  if (command === 'trigger') {
    const system = (systemArg ?? 'hubspot') as SystemName;
    if (!(SYSTEMS as readonly string[]).includes(system)) fail(`unknown system "${system}"; expected one of: ${SYSTEMS.join(', ')}`);
    let entityType: EntityType | undefined;
    if (values.entity) {
      entityType = parseEntityType(values.entity);
      if (!entityType) fail(`unknown entity type "${values.entity}"; expected one of: ${ENTITY_TYPES.map((t) => ENTITIES[t].plural).join(', ')}`);
    }
    const client = await connectClient(cfg);
    try {
      if (!values.wait) {
        const id = await triggerSync(client, cfg, system, entityType);
        console.log(`triggered ${id}${entityType ? ` (${ENTITIES[entityType].plural})` : ''}`);
        return;
      }
      await ensureSyncWorkflow(client, cfg, system, { runImmediately: false });
      const handle = client.workflow.getHandle(syncWorkflowId(system, cfg.temporal.workflowIdPrefix));
      const timeoutMs = Number(values.timeout ?? 600) * 1000;
      const summary = await Promise.race([
        handle.executeUpdate(syncNowUpdate, { args: [{ entityType }] }),
        new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`no result within ${timeoutMs / 1000} s`)), timeoutMs).unref()),
      ]);
      for (const [type, st] of Object.entries(summary.entities)) {
        const pull = st.lastPull ? Object.entries(st.lastPull).map(([k, v]) => `${k}=${v}`).join(' ') : '-';
        const push = st.lastPush ? Object.entries(st.lastPush).map(([k, v]) => `${k}=${v}`).join(' ') : '-';
        console.log(`${system} ${type}: ${st.lastError ? `ERROR ${st.lastError}` : 'ok'}\n  pull: ${pull}\n  push: ${push}`);
      }
      if (Object.values(summary.entities).some((s) => s.lastError)) process.exitCode = 1;
    } finally {
      await client.connection.close();
    }
    return;
  }

  if (command === 'status') {
    const db = createPool(cfg.postgres, 2);
    const client = await connectClient(cfg).catch(() => null);
    try {
      const registry = await syncStatus(db, SYSTEMS);
      const workflows = Object.fromEntries(
        await Promise.all(SYSTEMS.map(async (s) => [s, client ? await queryStatus(client, cfg, s).catch(() => null) : null] as const)),
      );
      if (values.json) {
        console.log(JSON.stringify({ registry, workflows }, null, 2));
        return;
      }
      for (const system of SYSTEMS) {
        const wf = workflows[system];
        console.log(`${system}: workflow ${wf ? `${wf.state}, ${wf.cycles} cycles${wf.nextCycleAt ? `, next at ${wf.nextCycleAt}` : ''}` : 'not running'}`);
        for (const [type, st] of Object.entries(registry[system] ?? {})) {
          const err = st.last_error ? `  last error: ${st.last_error}` : '';
          console.log(`  ${type.padEnd(10)} ${st.status.padEnd(8)} records=${st.records} last_synced=${st.last_synced ?? '-'}${err}`);
        }
      }
    } finally {
      await db.end();
      await client?.connection.close();
    }
    return;
  }
  fail(`unknown command "${command}"\n\n${HELP}`);
}

main(process.argv.slice(2)).catch((err) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
