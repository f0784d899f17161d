import { ServiceBusError } from '@azure/service-bus';
import { DeliveryError } from '@mcp-broker/broker';
import { SecretMissingError } from '@mcp-broker/broker-config';
import type { ToolCallRecord } from '@mcp-broker/contracts';
import { describe, expect, it } from 'vitest';
import { classify, outcomeMessage } from './service-bus-target-handler.ts';

const config = { id: 'out' };

describe('classify: ServiceBusError codes to delivery errors', () => {
  it.each([
    ['ServiceBusy', 'transient', 'SERVICE_BUS_UNAVAILABLE', false],
    ['ServiceTimeout', 'transient', 'SERVICE_BUS_UNAVAILABLE', true],
    ['GeneralError', 'transient', 'SERVICE_BUS_UNAVAILABLE', true],
    ['ServiceCommunicationProblem', 'transient', 'SERVICE_BUS_UNAVAILABLE', true],
    ['QuotaExceeded', 'transient', 'SERVICE_BUS_QUOTA_EXCEEDED', false],
    ['UnauthorizedAccess', 'permanent', 'SERVICE_BUS_UNAUTHORIZED', false],
    ['MessagingEntityNotFound', 'permanent', 'SERVICE_BUS_ENTITY_NOT_FOUND', false],
    ['MessagingEntityDisabled', 'permanent', 'SERVICE_BUS_ENTITY_NOT_FOUND', false],
    ['MessageSizeExceeded', 'permanent', 'SERVICE_BUS_MESSAGE_TOO_LARGE', false],
  ] as const)('%s is %s %s', (code, kind, failure, unconfirmed) => {
    const error = classify(new ServiceBusError('boom', code), config);
    expect(error).toBeInstanceOf(DeliveryError);
    expect({ kind: error.kind, code: error.code, unconfirmed: error.unconfirmed }).toEqual({
      kind,
      code: failure,
      unconfirmed,
    });
    expect(error.message).toContain(`Service Bus target out: ${code}`);
  });

  it('a missing connection string is a final credential failure; an unknown error is transient and unconfirmed', () => {
    expect(classify(new SecretMissingError('Environment variable SB is not set.'), config)).toMatchObject({
      kind: 'permanent',
      code: 'SERVICE_BUS_CREDENTIAL_FAILED',
    });
    expect(classify(new Error('socket hang up'), config)).toMatchObject({
      kind: 'transient',
      code: 'SERVICE_BUS_UNAVAILABLE',
      unconfirmed: true,
    });
  });
});

describe('outcomeMessage', () => {
  const record = {
    id: 'tc_1',
    caller: 'acme',
    tool: 'generate_contract',
    status: 'failed',
    idempotencyKey: 'k',
    replays: 2,
    correlation: { requestId: 'req-1' },
    error: { code: 'TOOL_ERROR', message: 'no' },
    completedAt: '2026-12-02T00:00:00.000Z',
  } as unknown as ToolCallRecord;

  it('derives the messageId from the call, the target and the replay generation, and names the failure', () => {
    const message = outcomeMessage(record, 1, { subjectPrefix: 'toolcall', inlineResultMaxBytes: 10 });
    expect(message).toMatchObject({
      messageId: 'tc_1:1:2',
      correlationId: 'req-1',
      subject: 'toolcall.failed',
      applicationProperties: {
        caller: 'acme',
        tool: 'generate_contract',
        status: 'failed',
        callId: 'tc_1',
        errorCode: 'TOOL_ERROR',
      },
      body: { callId: 'tc_1', status: 'failed', error: { code: 'TOOL_ERROR', message: 'no' } },
    });
    expect(outcomeMessage(record, 1, { subjectPrefix: 'toolcall', inlineResultMaxBytes: 10 }).messageId).toBe(
      message.messageId,
    );
  });
});
