import type { Delivery } from '@mcp-broker/contracts';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { BrokerQueues } from '../queues/broker-queues.ts';
import type { ToolCallRepository } from '../record/tool-call-repository.ts';
import { HttpCallbackHandler } from './http-callback-target.ts';
import { claimed, WriteBackDelivery } from './write-back-delivery.ts';

const now = '2026-12-01T00:00:00.000Z';
const callback = (timeoutMs?: number): Delivery => ({
  target: { type: 'http-callback', url: 'https://hooks.example.com/cb', ...(timeoutMs ? { timeoutMs } : {}) },
  status: 'pending',
  attempts: 0,
});

describe('claiming a delivery attempt', () => {
  it('counts the attempt before it is sent', () => {
    expect(claimed(callback(), now)).toMatchObject({ status: 'attempting', attempts: 1, attemptStartedAt: now });
    expect(claimed(callback(), now).unconfirmedAttempts).toBeUndefined();
  });

  it('counts an attempt found still in progress (its worker died) as unconfirmed', () => {
    const cutShort = claimed(callback(), now);
    expect(claimed(cutShort, now)).toMatchObject({ status: 'attempting', attempts: 2, unconfirmedAttempts: 1 });
  });
});

describe('the first attempts, made by the tool-call job', () => {
  const delivery = new WriteBackDelivery({
    repository: {} as ToolCallRepository,
    queues: {} as BrokerQueues,
    handlers: [new HttpCallbackHandler({ policyFor: () => ({ hosts: [], allowPrivate: false }), secretFor: () => '' })],
    logger: pino({ level: 'silent' }),
    inlineTimeoutMs: 10_000,
  });

  it('are claimed for targets whose timeout fits the inline budget; slower ones are left to a write-back job', () => {
    const [fits, slow, exact] = delivery.claimInline([callback(), callback(30_000), callback(10_000)], now);
    expect(fits?.status).toBe('attempting');
    expect(slow).toMatchObject({ status: 'pending', attempts: 0 });
    expect(exact?.status).toBe('attempting');
  });
});
