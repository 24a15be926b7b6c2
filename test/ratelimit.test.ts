/**
 * Request budgets never let one request too many reach the server within a window, even when the
 * event loop delays a request between taking its slot and sending it (the server counts arrivals).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RollingWindowLimiter, SharedWindowLimiter, withSlot, type RequestBudget } from '../src/core/ratelimit';
import { createRedis } from '../src/deps';
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
});
