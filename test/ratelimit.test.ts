/**
 * Request budgets never let one request too many reach the server within a window, even when the
 * event loop delays a request between taking its slot and sending it (the server counts arrivals).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { drawnAs, jointBudget, RollingWindowLimiter, SharedWindowLimiter, withSlot, type RequestBudget } from '../src/core/ratelimit';
import { drawn, runWithProgress } from '../src/core/progress';
import { createRedis } from '../src/deps';
import { FirefliesBudget } from '../src/connectors/fireflies/budget';
import { baseEnv } from './helpers';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The most arrivals any window of `windowMs` saw. */
function busiestWindow(arrivals: number[], windowMs: number): number {
  const t = [...arrivals].sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < t.length; i++) {
    while (t[i]! - t[j]! >= windowMs) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}

/**
 * 20 requests against a budget of 5 per second. The first of every other window leaves late (a busy event loop
 * between the slot and the socket), the others at once; each takes 5 ms to answer.
 */
async function run(budget: RequestBudget): Promise<number[]> {
  const arrivals: number[] = [];
  await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      withSlot(budget, async () => {
        await sleep(i % 10 === 0 ? 60 : 0);
        arrivals.push(Date.now());
        await sleep(5);
      }),
    ),
  );
  return arrivals;
}

describe('request budgets', () => {
  test('per process: at most 5 arrivals in any second, however late requests leave', async () => {
    const arrivals = await run(new RollingWindowLimiter(5, 1_000));
    assert.equal(arrivals.length, 20);
    assert.ok(busiestWindow(arrivals, 1_000) <= 5, `busiest second had ${busiestWindow(arrivals, 1_000)} arrivals`);
  });

  test('shared through Redis: the same holds', async () => {
    const env = baseEnv();
    const redis = createRedis({ host: env.REDIS_HOST!, port: Number(env.REDIS_PORT) });
    try {
      await sleep(200);
      const arrivals = await run(new SharedWindowLimiter(redis, `aurora:ratelimit:test:${Date.now()}`, 5, 1_000));
      assert.equal(arrivals.length, 20);
      assert.ok(busiestWindow(arrivals, 1_000) <= 5, `busiest second had ${busiestWindow(arrivals, 1_000)} arrivals`);
    } finally {
      redis.disconnect();
    }
  });

  /** Units arriving in the busiest window, for requests of different costs (Gmail prices methods in units). */
  function busiestUnits(arrivals: { at: number; units: number }[], windowMs: number): number {
    const t = [...arrivals].sort((a, b) => a.at - b.at);
    let most = 0;
    for (let i = 0; i < t.length; i++) {
      let sum = 0;
      for (let j = i; j < t.length && t[j]!.at - t[i]!.at < windowMs; j++) sum += t[j]!.units;
      most = Math.max(most, sum);
    }
    return most;
  }

  async function runUnits(budget: RequestBudget, costs: number[]): Promise<{ at: number; units: number }[]> {
    const arrivals: { at: number; units: number }[] = [];
    await Promise.all(
      costs.map((units) =>
        budget.acquire(units).then(async (release) => {
          arrivals.push({ at: Date.now(), units });
          await sleep(5);
          release();
        }),
      ),
    );
    return arrivals;
  }

  test('costs in units: the units in any window stay within the budget, per process and through Redis', async () => {
    const costs = [10, 2, 10, 1, 10, 10, 5, 2, 10, 10, 1, 10];
    const local = await runUnits(new RollingWindowLimiter(25, 1_000), costs);
    assert.equal(local.length, costs.length);
    assert.ok(busiestUnits(local, 1_000) <= 25, `busiest second had ${busiestUnits(local, 1_000)} units`);
    const env = baseEnv();
    const redis = createRedis({ host: env.REDIS_HOST!, port: Number(env.REDIS_PORT) });
    try {
      await sleep(200);
      const shared = await runUnits(new SharedWindowLimiter(redis, `aurora:ratelimit:test-units:${Date.now()}`, 25, 1_000), costs);
      assert.equal(shared.length, costs.length);
      assert.ok(busiestUnits(shared, 1_000) <= 25, `busiest second had ${busiestUnits(shared, 1_000)} units`);
    } finally {
      redis.disconnect();
    }
  });

  test('a joint budget (a user\'s within the project\'s) holds both limits', async () => {
    const project = new RollingWindowLimiter(6, 1_000);
    const users = [jointBudget(new RollingWindowLimiter(4, 1_000), project), jointBudget(new RollingWindowLimiter(4, 1_000), project)];
    const byUser: number[][] = [[], []];
    await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        withSlot(users[i % 2]!, async () => {
          byUser[i % 2]!.push(Date.now());
          await sleep(5);
        }),
      ),
    );
    assert.ok(busiestWindow([...byUser[0]!, ...byUser[1]!], 1_000) <= 6, 'the project limit');
    for (const u of byUser) assert.ok(busiestWindow(u, 1_000) <= 4, 'each user\'s limit');
  });

  test('Fireflies\' whole-second reset header: a spent day pauses until the next midnight UTC exactly, an earlier reset as said', async () => {
    const env = baseEnv();
    const redis = createRedis({ host: env.REDIS_HOST!, port: Number(env.REDIS_PORT) });
    try {
      if (redis.status !== 'ready') await new Promise((r) => redis.once('ready', r));
      const midnight = (Math.floor(Date.now() / 86_400_000) + 1) * 86_400_000;
      const headers = (reset: number) => new Headers({ 'x-ratelimit-limit': '50', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(reset) });
      const budget = (now: number) =>
        new FirefliesBudget({ redis, prefix: `aurora:test:ff:${now}:${Math.random()}`, limit: 50, window: 'day', webhookReserve: 0, minute: new RollingWindowLimiter(60, 60_000), now: () => now });
      // 600 ms before midnight the server says 1 (second, rounded up): that is midnight, not 400 ms after it
      for (const before of [600, 30, 999]) {
        const b = budget(midnight - before);
        await b.observe(headers(1));
        const grant = await b.take('poll');
        assert.equal(grant.ok, false);
        if (!grant.ok) assert.ok(Math.abs(grant.until - midnight) <= 20, `${before} ms before midnight: paused until ${new Date(grant.until).toISOString()}`);
      }
      // an hour before midnight a reset of 60 s is another window (an account's own time zone): kept as said
      const hourBefore = midnight - 3_600_000;
      const b = budget(hourBefore);
      await b.observe(headers(60));
      const grant = await b.take('poll');
      assert.equal(grant.ok, false);
      if (!grant.ok) assert.ok(Math.abs(grant.until - (hourBefore + 60_000)) <= 20, `paused until ${new Date(grant.until).toISOString()}`);
    } finally {
      redis.disconnect();
    }
  });
});

describe('what an activity drew of each budget (webhook pacing)', () => {
  test('each activity tallies its own draws per budget, both budgets of a joint one included; outside an activity nothing is noted', async () => {
    const user = drawnAs('google:u1:gmail', new RollingWindowLimiter(1_000, 60_000));
    const project = drawnAs('google:project:gmail', new RollingWindowLimiter(10_000, 60_000));
    const joint = jointBudget(user, project);
    const search = drawnAs('hubspot:a:search', new RollingWindowLimiter(100, 1_000));
    const take = async (b: RequestBudget, units: number) => (await b.acquire(units))();
    const tally = (fn: () => Promise<void>) =>
      runWithProgress(() => undefined, undefined, async () => {
        await fn();
        return new Map(drawn());
      });
    // Two activities at once (a webhook fetch and a polling cycle's pull): neither sees the other's draws.
    const [fetch, poll] = await Promise.all([
      tally(async () => {
        await take(joint, 10);
        await take(joint, 5);
      }),
      tally(async () => {
        await take(search, 1);
        await take(user, 1);
      }),
    ]);
    assert.deepEqual([...fetch], [['google:u1:gmail', 15], ['google:project:gmail', 15]]);
    assert.deepEqual([...poll], [['hubspot:a:search', 1], ['google:u1:gmail', 1]]);
    await take(user, 3);
    assert.equal(drawn().size, 0);
  });
});
