import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AttemptDeadline } from './attempt-deadline.ts';

describe('an attempt deadline', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('aborts with a TimeoutError once its timeout passes, and says it timed out', () => {
    const deadline = new AttemptDeadline(1000);
    vi.advanceTimersByTime(999);
    expect(deadline.signal.aborted).toBe(false);
    vi.advanceTimersByTime(1);
    expect(deadline.signal.aborted).toBe(true);
    expect((deadline.signal.reason as DOMException).name).toBe('TimeoutError');
    expect(deadline.timedOut).toBe(true);
  });

  it('aborts at once with the outer reason when the outer signal aborts first, and is no timeout', () => {
    const outer = new AbortController();
    const deadline = new AttemptDeadline(1000, outer.signal);
    const reason = new Error('worker stopping');
    outer.abort(reason);
    expect(deadline.signal.aborted).toBe(true);
    expect(deadline.signal.reason).toBe(reason);
    expect(deadline.timedOut).toBe(false);
    // Its own timer is gone with it.
    expect(vi.getTimerCount()).toBe(0);
  });

  it('starts aborted when the outer signal already is', () => {
    const deadline = new AttemptDeadline(1000, AbortSignal.abort(new Error('gone')));
    expect(deadline.signal.aborted).toBe(true);
  });

  it('leaves no timer pending and ignores the outer signal once disposed (the attempt ended)', () => {
    const outer = new AbortController();
    const deadline = new AttemptDeadline(10_000, outer.signal);
    expect(vi.getTimerCount()).toBe(1);
    deadline.dispose();
    // A delivery of milliseconds does not keep a 10 s timer alive, as AbortSignal.timeout did.
    expect(vi.getTimerCount()).toBe(0);
    outer.abort(new Error('late'));
    vi.advanceTimersByTime(20_000);
    expect(deadline.signal.aborted).toBe(false);
  });
});
