import { describe, expect, it } from 'vitest';
import { CallWindow } from './call-window.ts';

describe('call window', () => {
  it('waits until a call finishes before letting the next in, and reports which finished', async () => {
    const live = new Set(['a', 'b']);
    const window = new CallWindow({ size: 2, isLive: async (id) => live.has(id), minPollMs: 1, maxPollMs: 5 });
    window.add('a');
    window.add('b');
    const released: string[] = [];
    let checks = 0;
    const waiting = window.waitBelow({
      onReleased: async (ids) => {
        released.push(...ids);
      },
      check: async () => {
        checks += 1;
        if (checks === 3) live.delete('b');
      },
    });
    await waiting;
    expect(released).toEqual(['b']);
    expect(window.size).toBe(1);
  });

  it('lets a check (a cancel) end the wait', async () => {
    const window = new CallWindow({ size: 1, isLive: async () => true, minPollMs: 1 });
    window.add('a');
    await expect(
      window.waitBelow({
        check: async () => {
          throw new Error('cancelled');
        },
      }),
    ).rejects.toThrow('cancelled');
  });
});
