/**
 * The action items Aurora last received per transcript, kept in Redis (shared by every worker):
 * a transcript read by the `transcript` pull (or a webhook fetch) records its current items here;
 * the `action_item` pull reads what changed since its cursor, so the items cost no request of
 * their own under Fireflies' 50-a-day budget. An entry also remembers the ids a re-summary
 * dropped (`gone`): they become tombstones, however often they are reported (a deletion of a
 * deleted record is a no-op). A read older than the one recorded never replaces it. Every read
 * offers the transcript's items again: unchanged ones cost the action_item pull a comparison, no
 * write, and an item whose transcript had not reached Postgres yet gets its reference then.
 */
import type Redis from 'ioredis';
import type { Canonical } from '../../core/model';

export interface LedgerItem {
  id: string;
  fields: Canonical;
}
export interface LedgerEntry {
  transcriptId: string;
  /** when the transcript was read (ISO): the items' updatedAt */
  at: string;
  items: LedgerItem[];
  gone: string[];
}

/** Keeps at most this many dropped ids per transcript (re-summaries are rare). */
const MAX_GONE = 500;

/**
 * KEYS: entries hash, changed zset, seq counter. ARGV: transcript id, read time (ms), JSON items, items hash.
 * Returns 1 when the entry changed.
 */
const RECORD = `
local old = redis.call('HGET', KEYS[1], ARGV[1])
local gone = {}
if old then
  local o = cjson.decode(old)
  if tonumber(o.atMs) > tonumber(ARGV[2]) then return 0 end
  if o.h == ARGV[4] then
    -- The same items: offered again all the same (a page whose transcripts did not reach Postgres
    -- leaves items whose transcript reference could not be resolved; applied again, they get it).
    redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[3]), ARGV[1])
    return 0
  end
  local now = {}
  for _, it in ipairs(cjson.decode(ARGV[3])) do now[it.id] = true end
  local seen = {}
  for _, id in ipairs(o.gone) do if not now[id] and not seen[id] then table.insert(gone, id); seen[id] = true end end
  for _, it in ipairs(o.items) do if not now[it.id] and not seen[it.id] then table.insert(gone, it.id); seen[it.id] = true end end
  while #gone > tonumber(ARGV[5]) do table.remove(gone, 1) end
end
local entry = '{"h":' .. cjson.encode(ARGV[4]) .. ',"atMs":' .. ARGV[2] .. ',"items":' .. ARGV[3] .. ',"gone":' .. (#gone > 0 and cjson.encode(gone) or '[]') .. '}'
redis.call('HSET', KEYS[1], ARGV[1], entry)
redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[3]), ARGV[1])
return 1
`;

interface Stored {
  h: string;
  atMs: number;
  items: LedgerItem[];
  gone: string[];
}

export class ItemLedger {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private get keys(): [string, string, string] {
    return [`${this.prefix}:items`, `${this.prefix}:items:changed`, `${this.prefix}:items:seq`];
  }

  /** Records a transcript's current items as read at `atMs`; true when they changed. */
  async record(transcriptId: string, atMs: number, items: LedgerItem[], hash: string): Promise<boolean> {
    const n = await this.redis.eval(RECORD, 3, ...this.keys, transcriptId, atMs, JSON.stringify(items), hash, MAX_GONE);
    return Number(n) === 1;
  }

  private decode(transcriptId: string, raw: string | null): LedgerEntry | null {
    if (!raw) return null;
    const s = JSON.parse(raw) as Stored;
    return { transcriptId, at: new Date(s.atMs).toISOString(), items: Array.isArray(s.items) ? s.items : [], gone: Array.isArray(s.gone) ? s.gone : [] };
  }

  async get(transcriptIds: string[]): Promise<Map<string, LedgerEntry>> {
    const out = new Map<string, LedgerEntry>();
    if (!transcriptIds.length) return out;
    const raws = await this.redis.hmget(this.keys[0], ...transcriptIds);
    transcriptIds.forEach((id, i) => {
      const e = this.decode(id, raws[i] ?? null);
      if (e) out.set(id, e);
    });
    return out;
  }

  /** Entries changed after sequence `after`, oldest change first, with the sequence of the last one. */
  async changedSince(after: number, limit: number): Promise<{ entries: LedgerEntry[]; last: number }> {
    const flat = await this.redis.zrangebyscore(this.keys[1], `(${after}`, '+inf', 'WITHSCORES', 'LIMIT', 0, limit);
    const ids: string[] = [];
    let last = after;
    for (let i = 0; i < flat.length; i += 2) {
      ids.push(flat[i]!);
      last = Number(flat[i + 1]);
    }
    const got = await this.get(ids);
    return { entries: ids.flatMap((id) => (got.has(id) ? [got.get(id)!] : [])), last };
  }
}
