import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { withForgettableSignal } from './forgettable-signal.ts';

describe('withForgettableSignal', () => {
  it('leaves no listener on the caller’s composite signal once the work settles, even when the work never removes its own', async () => {
    const outer = AbortSignal.any([new AbortController().signal, new AbortController().signal]);
    await withForgettableSignal(outer, async (own) => {
      // What the MCP SDK does with a request's signal.
      own?.addEventListener('abort', () => {});
      expect(getEventListeners(outer, 'abort')).toHaveLength(1);
    });
    expect(getEventListeners(outer, 'abort')).toHaveLength(0);
    await expect(
      withForgettableSignal(outer, async () => {
        throw new Error('refused');
      }),
    ).rejects.toThrow('refused');
    expect(getEventListeners(outer, 'abort')).toHaveLength(0);
  });

  it('aborts the work’s signal with the caller’s reason, also when the caller’s signal was aborted already', async () => {
    const controller = new AbortController();
    const seen = withForgettableSignal(
      controller.signal,
      (own) => new Promise((resolve) => own?.addEventListener('abort', () => resolve(own.reason))),
    );
    controller.abort(new Error('cancelled by the caller'));
    await expect(seen).resolves.toMatchObject({ message: 'cancelled by the caller' });
    await expect(withForgettableSignal(controller.signal, async (own) => own?.aborted)).resolves.toBe(true);
    await expect(withForgettableSignal(undefined, async (own) => own)).resolves.toBeUndefined();
  });
});
