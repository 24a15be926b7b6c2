/**
 * Group commit for webhook signals: while a signal to one sync workflow (system, connection, entity
 * type) is on its way, the ids of deliveries arriving meanwhile are gathered and sent together as
 * the next signal the moment it returns. An idle stream pays nothing extra (the first delivery is
 * signalled at once); a busy one sends one signal per round trip instead of one per delivery, so the
 * workflow gets fewer tasks and a shorter history. Each delivery still waits for the signal that
 * carries its ids, so a failure reaches its request (and the sender retries).
 */
import type { SyncTarget } from '../../temporal';
import { gatherWebhookIds } from '../../workflows/definitions';

type Send = (target: SyncTarget, entityType: string, ids: string[], propertyOnly?: string[]) => Promise<void>;

interface Gathering {
  target: SyncTarget;
  entityType: string;
  ids: string[];
  /** of `ids`, those every delivery gathered named for property changes only */
  propertyOnly: Set<string>;
  waiters: { resolve: () => void; reject: (err: unknown) => void }[];
}

export class SignalCoalescer {
  private readonly busy = new Set<string>();
  private readonly gathering = new Map<string, Gathering>();

  constructor(private readonly send: Send) {}

  /** Resolves once a signal carrying these ids was accepted by Temporal; rejects with its error. */
  signal(target: SyncTarget, entityType: string, ids: readonly string[], propertyOnly?: readonly string[]): Promise<void> {
    const key = JSON.stringify([target.system, target.connection ?? '', entityType]);
    if (!this.busy.has(key)) {
      this.busy.add(key);
      return this.send(target, entityType, [...ids], propertyOnly?.length ? [...propertyOnly] : undefined).finally(() => this.next(key));
    }
    let g = this.gathering.get(key);
    if (!g) this.gathering.set(key, (g = { target, entityType, ids: [], propertyOnly: new Set(), waiters: [] }));
    gatherWebhookIds(g.ids, g.propertyOnly, { ids, propertyOnly });
    const waiting = g;
    return new Promise((resolve, reject) => waiting.waiters.push({ resolve, reject }));
  }

  private next(key: string): void {
    const g = this.gathering.get(key);
    if (!g) {
      this.busy.delete(key);
      return;
    }
    this.gathering.delete(key);
    this.send(g.target, g.entityType, g.ids, g.propertyOnly.size ? [...g.propertyOnly] : undefined).then(
      () => g.waiters.forEach((w) => w.resolve()),
      (err: unknown) => g.waiters.forEach((w) => w.reject(err)),
    ).finally(() => this.next(key));
  }
}
