/**
 * The systems this engine syncs: one registration line per connector. Everything else — entity
 * types, tables, migrations, connections, credentials, webhooks — comes from the definitions.
 */
import type { EntitySpec } from '../core/model';
import { findEntity } from '../core/model';
import type { ConnectorDefinition } from './types';
import { googleWorkspace } from './google_workspace';
import { hubspot } from './hubspot';
import { fireflies } from './fireflies';

export const CONNECTORS: readonly ConnectorDefinition[] = [hubspot, googleWorkspace, fireflies];

export const SYSTEM_NAMES: readonly string[] = CONNECTORS.map((c) => c.system);

export function definitionOf(system: string): ConnectorDefinition | undefined {
  return CONNECTORS.find((c) => c.system === system);
}

/** The spec of one entity type of one system (singular or plural name), or undefined. */
export function entitySpec(system: string, entityType: unknown): EntitySpec | undefined {
  const def = definitionOf(system);
  return def ? findEntity(def.entities, entityType) : undefined;
}

/** "contacts, companies, deals" — for error messages. */
export function entityNames(system: string): string {
  return (definitionOf(system)?.entities ?? []).map((e) => e.plural).join(', ');
}
