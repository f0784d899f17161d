import type { ToolCallRecord } from '@mcp-broker/contracts';
import { describe, expect, it } from 'vitest';
import {
  cancel,
  deadLetter,
  fail,
  flagCancel,
  isDeadLetter,
  isFinal,
  rateLimitWait,
  refuse,
  replay,
  reportProgress,
  requeueForRetry,
  start,
  succeed,
  type Transition,
} from './tool-call-lifecycle.ts';

const T0 = '2026-01-01T00:00:00.000Z';
const T1 = '2026-01-01T00:00:01.000Z';
const T2 = '2026-01-01T00:00:02.000Z';

function queued(over: Partial<ToolCallRecord> = {}): ToolCallRecord {
  return {
    id: 'tc_0000000000000000000000000000000000000000',
    caller: 'caller-a',
    endpoint: 'local',
    tool: 'echo',
    fingerprint: 'f',
    idempotencyKey: 'k-1',
    arguments: { text: 'hi' },
    source: { kind: 'api' },
    correlation: { requestId: 'r-1' },
    status: 'queued',
    history: [{ status: 'queued', at: T0 }],
    attempts: 0,
    deliveries: [
      { target: { type: 'http-callback', url: 'https://hooks.example.com/cb' }, status: 'pending', attempts: 0 },
    ],
    createdAt: T0,
    updatedAt: T0,
    ...over,
  };
}

const must = (next: ToolCallRecord | undefined): ToolCallRecord => {
  expect(next).toBeDefined();
  return next as ToolCallRecord;
};

const running = () => must(start(queued(), T1));
const error = { code: 'UPSTREAM_UNAVAILABLE' as const, message: 'endpoint down' };

const succeeded = () => must(succeed(running(), T2, { content: [] }));
const failed = () => must(fail(running(), T2, { code: 'TOOL_ERROR', message: 'no' } as const));
const deadLettered = () => must(deadLetter(running(), T2, error));
const cancelled = () => must(cancel(running(), T2, 'cancelled while running'));

/** Every transition that must never leave a final status (replay is the one explicit exception). */
const allButReplay: Record<string, Transition> = {
  start,
  succeed: (r, now) => succeed(r, now, { ok: true }),
  fail: (r, now) => fail(r, now, error),
  deadLetter: (r, now) => deadLetter(r, now, error),
  cancel: (r, now) => cancel(r, now, 'cancelled while queued'),
  refuse: (r, now) => refuse(r, now, { code: 'BROKER_TOOL_NOT_ALLOWED', message: 'no' }),
  flagCancel,
  requeueForRetry: (r, now) => requeueForRetry(r, now, 'UPSTREAM_UNAVAILABLE'),
  rateLimitWait: (r, now) => rateLimitWait(r, now, 5000),
  reportProgress: (r, now) => reportProgress(r, now, { progress: 1 }),
};

describe('tool-call lifecycle: no transition leaves a final status', () => {
  const finals = { succeeded, failed, deadLettered, cancelled };
  for (const [finalName, make] of Object.entries(finals)) {
    for (const [name, transition] of Object.entries(allButReplay)) {
      it(`${name} refuses a ${finalName} record`, () => {
        const record = make();
        expect(transition(record, T2)).toBeUndefined();
      });
    }
  }

  it('replay refuses every final record that is not a dead letter', () => {
    expect(replay(succeeded(), T2, 'admin')).toBeUndefined();
    expect(replay(failed(), T2, 'admin')).toBeUndefined();
    expect(replay(cancelled(), T2, 'admin')).toBeUndefined();
  });

  it('replay refuses a call that is not final (queued, running)', () => {
    expect(replay(queued(), T2, 'admin')).toBeUndefined();
    expect(replay(running(), T2, 'admin')).toBeUndefined();
  });

  it('isFinal and isDeadLetter tell the statuses apart', () => {
    expect([queued(), running()].map(isFinal)).toEqual([false, false]);
    expect([succeeded(), failed(), deadLettered(), cancelled()].map(isFinal)).toEqual([true, true, true, true]);
    expect([failed(), deadLettered(), succeeded()].map(isDeadLetter)).toEqual([false, true, false]);
  });

  it('transitions never modify the record they are given', () => {
    const record = queued();
    const copy = structuredClone(record);
    for (const transition of Object.values(allButReplay)) transition(record, T1);
    replay(deadLettered(), T2, 'admin');
    expect(record).toEqual(copy);
  });
});

describe('tool-call lifecycle: start', () => {
  it('moves a queued call to running, counts the attempt and notes it', () => {
    const next = must(start(queued(), T1));
    expect(next).toMatchObject({ status: 'running', attempts: 1, startedAt: T1 });
    expect(next.history).toEqual([
      { status: 'queued', at: T0 },
      { status: 'running', at: T1, note: 'attempt 1' },
    ]);
  });

  it('a second start (a stalled job run again) counts another attempt and keeps the first start time', () => {
    const again = must(start(running(), T2));
    expect(again).toMatchObject({ status: 'running', attempts: 2, startedAt: T1 });
    expect(again.history.at(-1)).toEqual({ status: 'running', at: T2, note: 'attempt 2' });
  });

  it('counts from the current record, not from a stale copy', () => {
    const retried = must(requeueForRetry(running(), T2, 'UPSTREAM_UNAVAILABLE'));
    expect(must(start(retried, T2)).attempts).toBe(2);
  });

  it('counts a run the queue started that left no trace (a worker killed before its lazy running write)', () => {
    // Second run of the job: the first died before writing anything, the record still says 0.
    expect(must(start(queued(), T2, { attemptsStarted: 2 }))).toMatchObject({ attempts: 2, startedAt: T2 });
    expect(must(start(queued(), T2, { attemptsStarted: 2 })).history.at(-1)?.note).toBe('attempt 2');
  });

  it('does not count the queue runs that were rate-limit waits, nor fall below the record', () => {
    // Two runs: the first was a 429 wait (given back), so this is attempt 1.
    const waited = must(rateLimitWait(running(), T2, 1000));
    expect(must(start(waited, T2, { attemptsStarted: 2 })).attempts).toBe(1);
    // A job queued again by the reconcile sweep starts its count afresh: the record's count stands.
    const retried = must(requeueForRetry(must(start(running(), T2)), T2, 'UPSTREAM_UNAVAILABLE'));
    expect(must(start(retried, T2, { attemptsStarted: 1 })).attempts).toBe(3);
  });
});

describe('tool-call lifecycle: outcomes', () => {
  it('succeed stores the result and the completion time', () => {
    const next = must(succeed(running(), T2, { content: [{ type: 'text', text: 'ok' }] }));
    expect(next).toMatchObject({
      status: 'succeeded',
      completedAt: T2,
      result: { content: [{ type: 'text', text: 'ok' }] },
    });
    expect(next.error).toBeUndefined();
    expect(next.history.at(-1)).toEqual({ status: 'succeeded', at: T2 });
  });

  it('fail stores the error only (no dead-letter flag), and keeps a tool result when given one', () => {
    const plain = must(fail(running(), T2, error));
    expect(plain).toMatchObject({ status: 'failed', completedAt: T2, error });
    expect(plain.error?.deadLettered).toBeUndefined();
    expect('result' in plain).toBe(false);
    const result = { isError: true, content: [{ type: 'text', text: 'bad input' }] };
    const withResult = must(fail(running(), T2, { code: 'TOOL_ERROR', message: 'bad input' }, { result }));
    expect(withResult).toMatchObject({ status: 'failed', result, error: { code: 'TOOL_ERROR', message: 'bad input' } });
    expect(withResult.history.at(-1)).toEqual({ status: 'failed', at: T2 });
  });

  it('fail keeps only the code and message of the error it is given', () => {
    const next = must(fail(running(), T2, { ...error, stack: 'secret stack' } as typeof error));
    expect(next.error).toEqual(error);
  });

  it('deadLetter marks the failure as given up (replayable), with its note when there is one', () => {
    const next = must(deadLetter(running(), T2, error, { note: 'abandoned by the queue' }));
    expect(next).toMatchObject({ status: 'failed', completedAt: T2, error: { ...error, deadLettered: true } });
    expect(next.history.at(-1)).toEqual({ status: 'failed', at: T2, note: 'abandoned by the queue' });
    expect(must(deadLetter(running(), T2, error)).history.at(-1)).toEqual({ status: 'failed', at: T2 });
  });

  it('deadLetter counts the runs the queue started that the record never saw, less its rate-limit waits', () => {
    // Four runs each killed before their running write: the record still says queued, 0 attempts.
    expect(must(deadLetter(queued(), T1, error, { attemptsStarted: 4 })).attempts).toBe(4);
    expect(must(deadLetter(queued({ rateLimitWaits: 1 }), T1, error, { attemptsStarted: 4 })).attempts).toBe(3);
    // Never fewer than the record counted itself.
    expect(must(deadLetter(queued({ attempts: 5 }), T1, error, { attemptsStarted: 2 })).attempts).toBe(5);
    expect(must(deadLetter(queued(), T1, error)).attempts).toBe(0);
  });

  it('an outcome may be stored on a call still queued (a retried job that runs no more)', () => {
    expect(must(deadLetter(queued(), T1, error)).status).toBe('failed');
    expect(must(succeed(queued(), T1, {})).status).toBe('succeeded');
  });

  it('cancel ends a queued or running call and keeps that a cancel was asked for', () => {
    const whileQueued = must(cancel(queued(), T1, 'cancelled while queued'));
    expect(whileQueued).toMatchObject({ status: 'cancelled', cancelRequested: true, completedAt: T1 });
    expect(whileQueued.history.at(-1)).toEqual({ status: 'cancelled', at: T1, note: 'cancelled while queued' });
    const whileRunning = must(cancel(running(), T2, 'cancelled while running'));
    expect(whileRunning).toMatchObject({ status: 'cancelled', attempts: 1 });
    expect(whileRunning.history.map((h) => h.status)).toEqual(['queued', 'running', 'cancelled']);
  });
});

describe('tool-call lifecycle: refuse', () => {
  const reason = { code: 'EVENT_MALFORMED' as const, message: 'Tool__c is missing' };

  it('records a refused request as failed, with the reason in the error and the note', () => {
    const next = must(refuse(queued(), T1, reason));
    expect(next).toMatchObject({ status: 'failed', error: reason, completedAt: T1, attempts: 0 });
    expect(next.error?.deadLettered).toBeUndefined();
    expect(next.history).toEqual([
      { status: 'queued', at: T0 },
      { status: 'failed', at: T1, note: 'refused: EVENT_MALFORMED' },
    ]);
  });

  it('never refuses a call that already started, even one queued again for a retry', () => {
    expect(refuse(running(), T2, reason)).toBeUndefined();
    const retried = must(requeueForRetry(running(), T2, 'UPSTREAM_UNAVAILABLE'));
    expect(refuse(retried, T2, reason)).toBeUndefined();
  });
});

describe('tool-call lifecycle: back to the queue', () => {
  it('requeueForRetry keeps the attempt spent and notes the code', () => {
    const next = must(requeueForRetry(running(), T2, 'UPSTREAM_UNAVAILABLE'));
    expect(next).toMatchObject({ status: 'queued', attempts: 1 });
    expect(next.history.at(-1)).toEqual({ status: 'queued', at: T2, note: 'UPSTREAM_UNAVAILABLE: will retry' });
  });

  it('rateLimitWait gives the attempt back, counts the wait and notes when to come back', () => {
    const first = must(rateLimitWait(running(), T2, 1500));
    expect(first).toMatchObject({ status: 'queued', attempts: 0, rateLimitWaits: 1 });
    expect(first.history.at(-1)).toEqual({ status: 'queued', at: T2, note: 'rate limited; retry in 2 s' });
    const second = must(rateLimitWait(must(start(first, T2)), T2, 30_000));
    expect(second).toMatchObject({ attempts: 0, rateLimitWaits: 2 });
    expect(second.history.at(-1)?.note).toBe('rate limited; retry in 30 s');
  });

  it('rateLimitWait never counts attempts below zero', () => {
    expect(must(rateLimitWait(queued(), T1, 1000)).attempts).toBe(0);
  });
});

describe('tool-call lifecycle: changes without a status', () => {
  it('flagCancel flags a queued or running call without touching status or history', () => {
    const record = running();
    const next = must(flagCancel(record, T2));
    expect(next).toEqual({ ...record, cancelRequested: true });
    expect(must(flagCancel(queued(), T1)).status).toBe('queued');
  });

  it('flagCancel leaves a call already flagged as it is', () => {
    expect(flagCancel(must(flagCancel(running(), T2)), T2)).toBeUndefined();
  });

  it('reportProgress stores the latest progress only while running', () => {
    const record = running();
    expect(reportProgress(record, T2, { progress: 3, total: 10, message: 'working' })).toEqual({
      ...record,
      progress: { progress: 3, total: 10, message: 'working' },
    });
    expect(reportProgress(queued(), T1, { progress: 1 })).toBeUndefined();
  });
});

describe('tool-call lifecycle: replay', () => {
  it('puts a dead letter back as a new generation: queued, attempts and deliveries fresh, error gone', () => {
    const dead: ToolCallRecord = {
      ...deadLettered(),
      cancelRequested: true,
      progress: { progress: 5 },
      rateLimitWaits: 3,
      deliveries: [
        {
          target: { type: 'http-callback', url: 'https://hooks.example.com/cb' },
          status: 'failed',
          attempts: 4,
          unconfirmedAttempts: 1,
          lastError: { code: 'CALLBACK_HTTP_500', message: 'no' },
        },
      ],
    };
    const next = must(replay(dead, T2, 'admin'));
    expect(next).toMatchObject({ status: 'queued', attempts: 0, replays: 1, startedAt: T1 });
    for (const gone of ['error', 'completedAt', 'progress', 'cancelRequested'] as const) {
      expect(next[gone], gone).toBeUndefined();
      expect(gone in next, gone).toBe(false);
    }
    expect(next.deliveries).toEqual([
      { target: { type: 'http-callback', url: 'https://hooks.example.com/cb' }, status: 'pending', attempts: 0 },
    ]);
    expect(next.history.at(-1)).toEqual({ status: 'queued', at: T2, note: 'replayed by admin' });
    expect(next.history.map((h) => h.status)).toEqual(['queued', 'running', 'failed', 'queued']);
  });

  it('each replay is the next generation', () => {
    const once = must(replay(deadLettered(), T2, 'admin'));
    const again = must(deadLetter(must(start(once, T2)), T2, error));
    expect(must(replay(again, T2, 'ops')).replays).toBe(2);
  });
});
