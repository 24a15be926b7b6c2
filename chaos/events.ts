/**
 * Listens to every sync event on Redis for the whole scenario: pub/sub (`aurora:sync:*`, as a
 * consumer subscribes) and, at the end, the stream `aurora:sync:events`. Events carry no id, so
 * (entity_id, action, local_version, external_version) says which change an event announces, and
 * event_id (the outbox row's id) which delivery is a repeat.
 */
import Redis from 'ioredis';

export interface SeenEvent {
  channel: string;
  /** the outbox row id: unique and increasing per installation */
  event_id?: string;
  entity_id: string;
  entity_type: string;
  action: string;
  direction?: string;
  local_version?: number | null;
  external_version?: number | null;
  at: number;
}

export const eventKey = (e: Pick<SeenEvent, 'entity_id' | 'action' | 'local_version' | 'external_version'>): string =>
  `${e.entity_id}|${e.action}|${e.local_version ?? '-'}|${e.external_version ?? '-'}`;

export interface EventCollector {
  /** pub/sub messages in the order received */
  received: SeenEvent[];
  /** times the subscription was (re)established */
  subscriptions: number;
  reset(): void;
  /** the whole stream, in order */
  stream(): Promise<SeenEvent[]>;
  clearStream(): Promise<void>;
  close(): Promise<void>;
}

function parse(channel: string, body: string): SeenEvent | null {
  try {
    const e = JSON.parse(body) as Omit<SeenEvent, 'channel' | 'at'>;
    return { channel, event_id: e.event_id === undefined ? undefined : String(e.event_id), entity_id: e.entity_id, entity_type: e.entity_type, action: e.action, direction: e.direction, local_version: e.local_version, external_version: e.external_version, at: Date.now() };
  } catch {
    return null;
  }
}

export async function collectEvents(port: number): Promise<EventCollector> {
  // Reconnect quickly: a consumer that is back before the relay catches up sees every event.
  const sub = new Redis({ port, host: '127.0.0.1', retryStrategy: () => 100, maxRetriesPerRequest: null });
  const cmd = new Redis({ port, host: '127.0.0.1', retryStrategy: () => 200, maxRetriesPerRequest: null });
  sub.on('error', () => undefined);
  cmd.on('error', () => undefined);
  const c: EventCollector = {
    received: [],
    subscriptions: 0,
    reset() {
      c.received = [];
    },
    async stream() {
      const out: SeenEvent[] = [];
      let start = '-';
      for (;;) {
        const page = await cmd.xrange('aurora:sync:events', start, '+', 'COUNT', 5000);
        for (const [id, fields] of page) {
          const f: Record<string, string> = {};
          for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i]!] = fields[i + 1]!;
          const e = parse(f.channel ?? '', f.event ?? '');
          if (e) out.push(e);
          start = `(${id}`;
        }
        if (page.length < 5000) return out;
      }
    },
    async clearStream() {
      await cmd.del('aurora:sync:events');
    },
    async close() {
      sub.disconnect();
      cmd.disconnect();
    },
  };
  sub.on('ready', () => {
    c.subscriptions++;
  });
  sub.on('pmessage', (_pattern: string, channel: string, body: string) => {
    const e = parse(channel, body);
    if (e) c.received.push(e);
  });
  await sub.psubscribe('aurora:sync:*');
  return c;
}
