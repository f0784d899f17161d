import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toolCallId } from '../record/tool-call-id.ts';
import { CancellationListener, cancelChannel, publishCancel } from './cancel-channel.ts';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `test:cancel:${randomUUID()}:`;
let publisher: Redis;
let subscriber: Redis;
let listener: CancellationListener;
const warnings: { msg: string; length?: number; problem?: string }[] = [];

beforeAll(async () => {
  publisher = new Redis(REDIS_URL);
  subscriber = new Redis(REDIS_URL);
  const logger = pino({ level: 'warn' }, { write: (line: string) => warnings.push(JSON.parse(line)) });
  listener = new CancellationListener(subscriber, prefix, logger);
  // The subscription is asynchronous: wait until Redis counts the subscriber.
  for (let i = 0; i < 100; i++) {
    const [, count] = (await publisher.pubsub('NUMSUB', cancelChannel(prefix))) as [string, number];
    if (count > 0) break;
    await new Promise((r) => setTimeout(r, 20));
  }
});

afterAll(() => {
  subscriber?.disconnect();
  publisher?.disconnect();
});

/** Resolves when the signal aborts, or with 'timeout'. */
function aborted(signal: AbortSignal, ms = 3000): Promise<'aborted' | 'timeout'> {
  if (signal.aborted) return Promise.resolve('aborted');
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('timeout'), ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve('aborted');
    });
  });
}

describe('cancel channel', () => {
  it('ignores garbage published on the channel with a warning each, aborts nothing, and keeps listening', async () => {
    const running = toolCallId('caller-a', randomUUID());
    const run = listener.register(running);
    const garbage: (string | Buffer)[] = [
      '',
      'not-a-call-id',
      `${running} `,
      running.toUpperCase(),
      JSON.stringify({ callId: running }),
      `${running}\n${running}`,
      Buffer.from([0xff, 0xfe, 0x00, 0x01, 0x80]),
      'x'.repeat(1_000_000),
    ];
    warnings.length = 0;
    for (const message of garbage) await publisher.publish(cancelChannel(prefix), message);
    // Messages on one channel arrive in order: once this real one lands, the garbage has been read.
    const other = toolCallId('caller-a', randomUUID());
    const otherRun = listener.register(other);
    await publishCancel(publisher, prefix, other);
    expect(await aborted(otherRun.signal)).toBe('aborted');

    expect(run.signal.aborted).toBe(false);
    expect(warnings).toHaveLength(garbage.length);
    for (const w of warnings) {
      expect(w.msg).toBe('malformed cancel message ignored');
      expect(w.problem).toMatch(/tool-call id/);
    }
    expect(warnings.map((w) => w.length)).toContain(1_000_000);
    // The text itself is not logged.
    expect(JSON.stringify(warnings)).not.toContain('not-a-call-id');
    run.release();
    otherRun.release();
  });

  it('aborts the registered run of the call a well-formed message names, and only that one', async () => {
    const target = toolCallId('caller-a', randomUUID());
    const bystander = toolCallId('caller-b', randomUUID());
    const a = listener.register(target);
    const b = listener.register(bystander);
    warnings.length = 0;
    await publishCancel(publisher, prefix, target);
    expect(await aborted(a.signal)).toBe('aborted');
    expect(String(a.signal.reason)).toMatch(/cancelled by the caller/);
    expect(b.signal.aborted).toBe(false);
    // A well-formed id of a call no replica runs is not an error.
    await publishCancel(publisher, prefix, toolCallId('caller-a', randomUUID()));
    await publishCancel(publisher, prefix, bystander);
    expect(await aborted(b.signal)).toBe('aborted');
    expect(warnings).toEqual([]);
    a.release();
    b.release();
    expect(listener.runningCount).toBe(0);
  });

  it('refuses to publish what is not a call id', async () => {
    await expect(publishCancel(publisher, prefix, 'tc_short')).rejects.toThrow(/tool-call id/);
  });
});
