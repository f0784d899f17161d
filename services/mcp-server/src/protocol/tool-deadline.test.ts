import { describe, expect, it } from 'vitest';
import { ToolDeadline } from './tool-deadline.ts';

const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('ToolDeadline', () => {
  it('is aborted at once, with the client’s reason, when the request was cancelled before the tool started', () => {
    const client = new AbortController();
    client.abort(new Error('cancelled by the client'));
    const deadline = new ToolDeadline(client.signal, 10_000);
    expect(deadline.signal.aborted).toBe(true);
    expect((deadline.signal.reason as Error).message).toBe('cancelled by the client');
    expect(deadline.timedOut).toBe(false);
    deadline.dispose();
  });

  it('aborts with the client’s reason on cancellation, and the timeout no longer fires', async () => {
    const client = new AbortController();
    const deadline = new ToolDeadline(client.signal, 30);
    client.abort(new Error('cancelled'));
    expect(deadline.signal.aborted).toBe(true);
    expect((deadline.signal.reason as Error).message).toBe('cancelled');
    await tick(60);
    expect(deadline.timedOut).toBe(false);
  });

  it('aborts with a TimeoutError when the timeout passes first', async () => {
    const client = new AbortController();
    const deadline = new ToolDeadline(client.signal, 20);
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
    const deadline = new ToolDeadline(client.signal, 20);
    expect(listeners).toBe(1);
    deadline.dispose();
    expect(listeners).toBe(0);
    client.abort(new Error('after the call'));
    await tick(50);
    expect(deadline.signal.aborted).toBe(false);
    expect(deadline.timedOut).toBe(false);
  });
});
