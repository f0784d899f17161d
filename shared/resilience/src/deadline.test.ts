import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Deadline } from './deadline.ts';

const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('a deadline, with fake timers', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('aborts with a TimeoutError once its timeout passes, and says it timed out', () => {
    const deadline = new Deadline(1000, { what: 'The attempt' });
    vi.advanceTimersByTime(999);
    expect(deadline.signal.aborted).toBe(false);
    vi.advanceTimersByTime(1);
    expect(deadline.signal.aborted).toBe(true);
    expect((deadline.signal.reason as DOMException).name).toBe('TimeoutError');
    expect(deadline.timedOut).toBe(true);
  });

  it('aborts at once with the outer reason when the outer signal aborts first, and is no timeout', () => {
    const outer = new AbortController();
    const deadline = new Deadline(1000, { outer: outer.signal, what: 'The attempt' });
    const reason = new Error('worker stopping');
    outer.abort(reason);
    expect(deadline.signal.aborted).toBe(true);
    expect(deadline.signal.reason).toBe(reason);
    expect(deadline.timedOut).toBe(false);
    // Its own timer is gone with it.
    expect(vi.getTimerCount()).toBe(0);
  });

  it('starts aborted when the outer signal already is', () => {
    const deadline = new Deadline(1000, { outer: AbortSignal.abort(new Error('gone')), what: 'The attempt' });
    expect(deadline.signal.aborted).toBe(true);
  });

  it('leaves no timer pending and ignores the outer signal once disposed (the attempt ended)', () => {
    const outer = new AbortController();
    const deadline = new Deadline(10_000, { outer: outer.signal, what: 'The attempt' });
    expect(vi.getTimerCount()).toBe(1);
    deadline.dispose();
    // A delivery of milliseconds does not keep a 10 s timer alive, as AbortSignal.timeout did.
    expect(vi.getTimerCount()).toBe(0);
    outer.abort(new Error('late'));
    vi.advanceTimersByTime(20_000);
    expect(deadline.signal.aborted).toBe(false);
  });

  it('names the operation in its timeout message', () => {
    const deadline = new Deadline(1000, { what: 'The tool' });
    vi.advanceTimersByTime(1000);
    expect((deadline.signal.reason as DOMException).message).toBe("The tool's timeout of 1000 ms passed.");
  });
});

describe('a deadline under a client’s cancel signal', () => {
  it('is aborted at once, with the client’s reason, when the request was cancelled before the tool started', () => {
    const client = new AbortController();
    client.abort(new Error('cancelled by the client'));
    const deadline = new Deadline(10_000, { outer: client.signal, what: 'The tool' });
    expect(deadline.signal.aborted).toBe(true);
    expect((deadline.signal.reason as Error).message).toBe('cancelled by the client');
    expect(deadline.timedOut).toBe(false);
    deadline.dispose();
  });

  it('aborts with the client’s reason on cancellation, and the timeout no longer fires', async () => {
    const client = new AbortController();
    const deadline = new Deadline(30, { outer: client.signal, what: 'The tool' });
    client.abort(new Error('cancelled'));
    expect(deadline.signal.aborted).toBe(true);
    expect((deadline.signal.reason as Error).message).toBe('cancelled');
    await tick(60);
    expect(deadline.timedOut).toBe(false);
  });

  it('aborts with a TimeoutError when the timeout passes first', async () => {
    const client = new AbortController();
    const deadline = new Deadline(20, { outer: client.signal, what: 'The tool' });
    expect(deadline.signal.aborted).toBe(false);
    await tick(60);
    expect(deadline.signal.aborted).toBe(true);
    expect(deadline.timedOut).toBe(true);
    expect((deadline.signal.reason as DOMException).name).toBe('TimeoutError');
    // A cancellation after the timeout changes nothing.
    client.abort(new Error('late'));
    expect((deadline.signal.reason as DOMException).name).toBe('TimeoutError');
  });

  it('after dispose neither the timeout nor a cancellation aborts the signal, and no listener is left', async () => {
    const client = new AbortController();
    let listeners = 0;
    const add = client.signal.addEventListener.bind(client.signal);
    const remove = client.signal.removeEventListener.bind(client.signal);
    client.signal.addEventListener = ((...args: Parameters<typeof add>) => {
      listeners += 1;
      add(...args);
    }) as typeof add;
    client.signal.removeEventListener = ((...args: Parameters<typeof remove>) => {
      listeners -= 1;
      remove(...args);
    }) as typeof remove;
    const deadline = new Deadline(20, { outer: client.signal, what: 'The tool' });
    expect(listeners).toBe(1);
    deadline.dispose();
    expect(listeners).toBe(0);
    client.abort(new Error('after the call'));
    await tick(50);
    expect(deadline.signal.aborted).toBe(false);
    expect(deadline.timedOut).toBe(false);
  });
});
