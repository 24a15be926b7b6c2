/**
 * Reading configuration: environment variables through a zod schema, and files in the secrets
 * folder. Used by config.ts and by each connector for its own settings. No project imports.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

export const port = z.coerce.number().int().min(0).max(65535);
export const nonEmpty = z.string().trim().min(1);
export const optionalSecret = z.string().trim().min(1).optional();

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export function readSecretFile(dir: string, name: string): string | undefined {
  const path = join(dir, name);
  if (!existsSync(path)) return undefined;
  const value = readFileSync(path, 'utf8').trim();
  return value.length > 0 ? value : undefined;
}

/**
 * Parses one zod object schema over the environment: empty strings count as unset (so `FOO=` falls
 * back to the default); the first bad variable is named in a ConfigError (secrets never shown).
 */
export function parseEnv<S extends z.ZodRawShape>(shape: S, env: Record<string, string | undefined>): z.infer<z.ZodObject<S>> {
  const cleaned: Record<string, string> = {};
  for (const key of Object.keys(shape)) {
    const v = env[key];
    if (v !== undefined && v !== '') cleaned[key] = v;
  }
  const parsed = z.object(shape).safeParse(cleaned);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const name = String(issue.path[0] ?? 'configuration');
    const shown = name in cleaned && !/PASSWORD|KEY|SECRET|TOKEN/.test(name) ? ` (got "${cleaned[name]}")` : '';
    throw new ConfigError(`Invalid configuration: ${name}${shown}: ${issue.message}`);
  }
  return parsed.data;
}

