import { describe, expect, it } from 'vitest';
import type { CompletionFeed, FinishedCall } from './call-completions.ts';
import { CallWindow } from './call-window.ts';

/** An in-memory stand-in for the caller's queue events. */
class Feed implements CompletionFeed {
  readonly listeners = new Set<(call: FinishedCall) => void>();
  readonly past = new Map<string, FinishedCall>();
  subscribe(listener: (call: FinishedCall) => void) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  recent(callId: string) {
    return this.past.get(callId);
  }
  emit(call: FinishedCall) {
    this.past.set(call.callId, call);
    for (const l of this.listeners) l(call);
  }
}

// The safety poll is an hour away in these tests: only an event can end a wait early.
const HOUR = 3_600_000;

describe('call window', () => {
  it('is woken by a completed event and releases that call with its status, without asking Redis', async () => {
    const feed = new Feed();
    const asked: string[] = [];
    const window = new CallWindow({
      size: 2,
      isLive: async (id) => {
        asked.push(id);
        return true;
      },
      completions: feed,
      pollMs: HOUR,
    });
    window.add('a');
    window.add('b');
    const released: FinishedCall[] = [];
    const waiting = window.waitBelow({ onReleased: async (calls) => void released.push(...calls) });
    await new Promise((r) => setTimeout(r, 20));
    expect(released).toEqual([]);
    feed.emit({ callId: 'b', status: 'succeeded', final: true });
    await waiting;
    expect(released).toEqual([{ callId: 'b', status: 'succeeded', final: true }]);
    expect(window.size).toBe(1);
    // The first wait's poll asked about both; the event needed no question.
    expect(asked.sort()).toEqual(['a', 'b']);
  });

  it('asks Redis about a call whose attempt failed: a retried job stays, a finished one goes', async () => {
    const feed = new Feed();
    const live = new Set(['a', 'b']);
    const window = new CallWindow({ size: 2, isLive: async (id) => live.has(id), completions: feed, pollMs: HOUR });
    window.add('a');
    window.add('b');
    await window.release(true);
    const released: string[] = [];
    const waiting = window.waitBelow({
      onReleased: async (calls) => void released.push(...calls.map((c) => c.callId)),
    });
    feed.emit({ callId: 'a', final: false }); // retried: still live
    await new Promise((r) => setTimeout(r, 20));
    expect(window.size).toBe(2);
    live.delete('b');
    feed.emit({ callId: 'b', final: false }); // its last attempt: no longer live
    await waiting;
    expect(released).toEqual(['b']);
  });

  it('releases at once a call that finished before accept() returned its id', async () => {
    const feed = new Feed();
    const window = new CallWindow({ size: 1, isLive: async () => true, completions: feed, pollMs: HOUR });
    await window.release(true);
    feed.emit({ callId: 'quick', status: 'failed', final: true });
    window.add('quick');
    await window.waitBelow();
    expect(window.size).toBe(0);
  });

  it('ignores events of calls not in the window, and none after close', async () => {
    const feed = new Feed();
    const window = new CallWindow({ size: 1, isLive: async () => true, completions: feed, pollMs: HOUR });
    window.add('a');
    await window.release(true);
    feed.emit({ callId: 'other', status: 'succeeded', final: true });
    expect(await window.release()).toEqual([]);
    window.close();
    expect(feed.listeners.size).toBe(0);
  });

  it('without an event, the safety poll releases a call whose job is gone', async () => {
    const live = new Set(['a']);
    const window = new CallWindow({ size: 1, isLive: async (id) => live.has(id), completions: new Feed(), pollMs: 5 });
    window.add('a');
    const waiting = window.waitBelow();
    await new Promise((r) => setTimeout(r, 20));
    live.delete('a');
    await waiting;
    expect(window.size).toBe(0);
  });

  it('lets a check (a cancel) end a wait of a full window', async () => {
    const window = new CallWindow({ size: 1, isLive: async () => true, completions: new Feed(), pollMs: HOUR });
    window.add('a');
    await expect(
      window.waitBelow({
        checkEveryMs: 5,
        check: async () => {
          throw new Error('cancelled');
        },
      }),
    ).rejects.toThrow('cancelled');
  });
});
