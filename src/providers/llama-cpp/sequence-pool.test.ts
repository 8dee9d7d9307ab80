import { describe, expect, it } from 'vitest';
import { AppError } from '../../errors.js';
import { SequencePool } from './sequence-pool.js';

const never = new AbortController().signal;

function pool(options: Partial<{ size: number; maxQueue: number; timeoutMs: number }> = {}) {
  let now = 1_000;
  const instance = new SequencePool({
    resources: Array.from({ length: options.size ?? 2 }, (_, index) => `seq${index}`),
    maxQueue: options.maxQueue ?? 2,
    queueTimeoutMs: options.timeoutMs ?? 1_000,
    affinityTtlMs: 60_000,
    clock: () => now,
  });
  return { pool: instance, advance: (ms: number) => (now += ms) };
}

describe('the sequence pool', () => {
  it('gives a follow-up the slot holding its history, even after other chats ran', async () => {
    const { pool: slots, advance } = pool();
    const first = await slots.acquire(['a1'], never);
    slots.release(first, 'a2');
    advance(10);
    const other = await slots.acquire(['b1'], never);
    expect(other.index).not.toBe(first.index);
    slots.release(other, 'b2');
    const followUp = await slots.acquire(['a3', 'a2', 'a1'], never);
    expect(followUp.index).toBe(first.index);
    expect(slots.snapshot()).toMatchObject({ affinityHits: 1, reclaimed: 0 });
  });

  it('reclaims the least recently used idle slot when every slot holds a conversation', async () => {
    const { pool: slots, advance } = pool();
    const a = await slots.acquire([], never);
    const b = await slots.acquire([], never);
    slots.release(b, 'b');
    advance(5);
    slots.release(a, 'a');
    const next = await slots.acquire(['c'], never);
    expect(next.index).toBe(b.index);
    expect(slots.snapshot().reclaimed).toBe(1);
  });

  it('treats a slot idle past the affinity TTL as free', async () => {
    const { pool: slots, advance } = pool({ size: 1 });
    const a = await slots.acquire([], never);
    slots.release(a, 'a');
    advance(60_001);
    await slots.acquire(['z'], never);
    expect(slots.snapshot()).toMatchObject({ reclaimed: 0, affinityHits: 0 });
  });

  it('queues when all are busy, hands a released slot to the first waiter, and bounds the queue', async () => {
    const { pool: slots } = pool({ size: 1, maxQueue: 1 });
    const held = await slots.acquire([], never);
    const waiting = slots.acquire([], never);
    expect(slots.snapshot()).toMatchObject({ busy: 1, queued: 1 });
    const refused = await slots.acquire([], never).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(AppError);
    expect(refused).toMatchObject({
      code: 'server_busy',
      status: 429,
      headers: { 'retry-after': expect.stringMatching(/^\d+$/) },
    });
    slots.release(held, 'x');
    expect((await waiting).index).toBe(held.index);
    expect(slots.snapshot()).toMatchObject({ busy: 1, queued: 0, rejected: 1 });
  });

  it('turns a waiter away with 429 after the queue timeout', async () => {
    const { pool: slots } = pool({ size: 1, timeoutMs: 20 });
    await slots.acquire([], never);
    const error = await slots.acquire([], never).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'server_busy' });
    expect((error as Error).message).toContain('within 20 ms');
    expect(slots.snapshot().queued).toBe(0);
  });

  it('drops a waiter whose client went away, and the slot goes to the next one', async () => {
    const { pool: slots } = pool({ size: 1, maxQueue: 2 });
    const held = await slots.acquire([], never);
    const leaving = new AbortController();
    const first = slots.acquire([], leaving.signal);
    const second = slots.acquire([], never);
    leaving.abort(new Error('gone'));
    await expect(first).rejects.toThrow('gone');
    slots.release(held, undefined);
    expect((await second).index).toBe(held.index);
  });

  it('a slot released with an unknown state matches no history', async () => {
    const { pool: slots } = pool({ size: 1 });
    const a = await slots.acquire([], never);
    slots.release(a, undefined);
    await slots.acquire(['a'], never);
    expect(slots.snapshot().affinityHits).toBe(0);
  });
});
