import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createBackoff, createTtlCache } from '../src/utils/cache.js';
import { createQueue } from '../src/utils/queue.js';

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

test('queue runs at most `concurrency` tasks, in order', async () => {
  const q = createQueue({ concurrency: 2 });
  let running = 0;
  let peak = 0;
  const order = [];
  const task = (i) => async () => {
    running++;
    peak = Math.max(peak, running);
    order.push(i);
    await tick(5);
    running--;
    return i * 10;
  };
  const results = await Promise.all([0, 1, 2, 3, 4].map((i) => q.push(task(i))));
  assert.deepEqual(results, [0, 10, 20, 30, 40]);
  assert.equal(peak, 2);
  assert.deepEqual(order, [0, 1, 2, 3, 4]);
  assert.equal(q.running, 0);
});

test('queue keeps going after a failing task', async () => {
  const q = createQueue({ concurrency: 1 });
  const a = q.push(async () => {
    throw new Error('boom');
  });
  const b = q.push(async () => 'ok');
  await assert.rejects(a, /boom/);
  assert.equal(await b, 'ok');
});

test('queue.clear rejects waiting tasks', async () => {
  const q = createQueue({ concurrency: 1 });
  const first = q.push(() => tick(5));
  const second = q.push(async () => 'never');
  assert.equal(q.pending, 1);
  q.clear(new Error('cleared'));
  await assert.rejects(second, /cleared/);
  await first;
});

test('ttl cache expires entries and evicts the oldest beyond maxEntries', () => {
  let now = 1000;
  const c = createTtlCache({ ttlMs: 100, maxEntries: 2, now: () => now });
  c.set('a', 1);
  assert.equal(c.get('a'), 1);
  now += 99;
  assert.equal(c.get('a'), 1);
  now += 1;
  assert.equal(c.get('a'), undefined, 'expired at ttl');
  c.set('x', 1);
  c.set('y', 2);
  c.set('z', 3);
  assert.equal(c.get('x'), undefined, 'evicted');
  assert.equal(c.get('z'), 3);
  assert.equal(c.size, 2);
  c.set('w', 4, 1000);
  now += 500;
  assert.equal(c.get('w'), 4, 'per-entry ttl');
});

test('backoff doubles up to the cap and resets on success', () => {
  let now = 0;
  const b = createBackoff({ baseMs: 1000, maxMs: 4000, now: () => now });
  assert.equal(b.isBackingOff(), false);
  assert.equal(b.fail(), 1000);
  assert.equal(b.isBackingOff(), true);
  assert.equal(b.fail(), 2000);
  assert.equal(b.fail(), 4000);
  assert.equal(b.fail(), 4000);
  now += 3999;
  assert.equal(b.remainingMs(), 1);
  now += 1;
  assert.equal(b.isBackingOff(), false);
  b.fail();
  b.succeed();
  assert.equal(b.isBackingOff(), false);
  assert.equal(b.fail(), 1000);
});
