import { describe, expect, it } from 'vitest';
import { installGracefulShutdown } from './graceful-shutdown.ts';
import { createLogger } from './logger.ts';

describe('graceful shutdown', () => {
  it('closes in reverse order of start and exits 0', async () => {
    const order: string[] = [];
    let exitCode: number | undefined;
    const { shutdown } = installGracefulShutdown(
      [async () => void order.push('store'), async () => void order.push('http')],
      { logger: createLogger({ name: 't', level: 'silent' }), signals: [], exit: (c) => (exitCode = c) },
    );
    await shutdown('SIGTERM');
    expect(order).toEqual(['http', 'store']);
    expect(exitCode).toBe(0);
  });

  it('keeps closing after a failing closer and exits 1', async () => {
    const order: string[] = [];
    let exitCode: number | undefined;
    const { shutdown } = installGracefulShutdown(
      [
        async () => void order.push('a'),
        async () => {
          throw new Error('b failed');
        },
      ],
      { logger: createLogger({ name: 't', level: 'silent' }), signals: [], exit: (c) => (exitCode = c) },
    );
    await shutdown('SIGTERM');
    expect(order).toEqual(['a']);
    expect(exitCode).toBe(1);
  });
});
