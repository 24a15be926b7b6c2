/**
 * Activity progress without coupling connectors to Temporal: an activity runs its work inside
 * `runWithProgress`, records its resumable position with `setProgress`, and long waits deep inside
 * a connector (rate-limit pauses, backoff) call `keepAlive`, which re-sends the latest position as
 * the heartbeat so a retry still resumes from it.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

interface ProgressSink {
  details: unknown;
  beat: (details: unknown) => void;
  /** units of each request budget the activity's requests took (noteDraw) */
  drawn?: Map<string, number>;
}
const store = new AsyncLocalStorage<ProgressSink>();

export function runWithProgress<T>(beat: (details: unknown) => void, initial: unknown, fn: () => Promise<T>): Promise<T> {
  return store.run({ details: initial, beat }, fn);
}

export function setProgress(details: unknown): void {
  const sink = store.getStore();
  if (!sink) return;
  sink.details = details;
  sink.beat(details);
}

export function keepAlive(): void {
  const sink = store.getStore();
  if (sink) sink.beat(sink.details);
}

/** Notes that the running activity's request took `units` of budget `name` (budgets made by the connector pool). */
export function noteDraw(name: string, units: number): void {
  const sink = store.getStore();
  if (!sink) return;
  sink.drawn ??= new Map();
  sink.drawn.set(name, (sink.drawn.get(name) ?? 0) + units);
}

/** Units of each budget the running activity has taken so far (by budget name). */
export function drawn(): ReadonlyMap<string, number> {
  return store.getStore()?.drawn ?? new Map();
}

/** A sleep that keeps the surrounding activity's heartbeat alive. */
export async function patientSleep(ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    keepAlive();
    await new Promise((r) => setTimeout(r, Math.min(5_000, end - Date.now())));
  }
}
