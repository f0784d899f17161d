import { describe, expect, it } from 'vitest';
import { requestFromMessage } from './request-from-message.ts';

const source = { id: 'orders', queue: 'requests' };
const seq = { toString: () => '42' };

describe('requestFromMessage', () => {
  it('maps a request: tool, arguments, write-back, key from messageId prefixed by the source, correlation', () => {
    const { request, refusal } = requestFromMessage(
      {
        body: {
          tool: 'generate_contract',
          arguments: { id: 1 },
          writeBack: [{ type: 'service-bus', destination: 'out' }],
        },
        messageId: 'm-1',
        sequenceNumber: seq,
        applicationProperties: { 'Diagnostic-Id': '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
      },
      source,
    );
    expect(refusal).toBeUndefined();
    expect(request).toEqual({
      tool: 'generate_contract',
      arguments: { id: 1 },
      writeBack: [{ type: 'service-bus', destination: 'out' }],
      idempotencyKey: 'sb:orders:m-1',
      source: { kind: 'service-bus', reference: 'orders:requests#42' },
      correlation: { requestId: 'm-1', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
    });
  });

  it('takes JSON text in a string or bytes; the body key wins over messageId; a bad traceparent is dropped', () => {
    const text = JSON.stringify({ tool: 't', idempotencyKey: 'caller-chosen' });
    for (const body of [text, Buffer.from(text)]) {
      const { request } = requestFromMessage(
        { body, messageId: 'm', applicationProperties: { traceparent: 'garbage' } },
        source,
      );
      expect(request.idempotencyKey).toBe('caller-chosen');
      expect(request.arguments).toEqual({});
      expect(request.correlation).toEqual({ requestId: 'm' });
    }
  });

  it('a configured property is the key; missing, it is a refusal naming the property', () => {
    const withProperty = { ...source, idempotencyProperty: 'orderId' };
    expect(
      requestFromMessage({ body: { tool: 't' }, messageId: 'm', applicationProperties: { orderId: 7 } }, withProperty)
        .request.idempotencyKey,
    ).toBe('sb:orders:7');
    expect(requestFromMessage({ body: { tool: 't' }, messageId: 'm' }, withProperty).refusal?.message).toContain(
      'applicationProperties.orderId: required',
    );
  });

  it.each([
    ['null', null, 'body: expected a JSON object, got null'],
    ['an array', [1], 'body: expected a JSON object, got an array'],
    ['a number', 5, 'body: expected a JSON object, got number'],
    ['broken JSON', '{"tool":', 'body: not JSON'],
    ['JSON that is not an object', '"tool"', 'body: expected a JSON object'],
    ['an empty tool', { tool: '' }, 'tool:'],
    ['a too long key', { tool: 't', idempotencyKey: 'k'.repeat(256) }, 'idempotencyKey:'],
    [
      'eleven write-back targets',
      { tool: 't', writeBack: Array(11).fill({ type: 'service-bus', destination: 'o' }) },
      'writeBack:',
    ],
  ])('%s is refused as SERVICE_BUS_MESSAGE_MALFORMED naming the problem, with a usable key', (_name, body, problem) => {
    const { request, refusal } = requestFromMessage({ body, messageId: 'm-9', sequenceNumber: seq }, source);
    expect(refusal?.code).toBe('SERVICE_BUS_MESSAGE_MALFORMED');
    expect(refusal?.message).toContain(problem);
    expect(refusal?.message).toContain('m-9');
    expect(request).toMatchObject({ tool: '', arguments: {}, writeBack: [] });
    expect(request.idempotencyKey.length).toBeGreaterThan(0);
    expect(request.idempotencyKey.length).toBeLessThanOrEqual(255);
  });

  it('a messageId too long for a key is a refusal, keyed by the sequence number', () => {
    const { request, refusal } = requestFromMessage(
      { body: { tool: 't' }, messageId: 'x'.repeat(300), sequenceNumber: seq },
      source,
    );
    expect(refusal?.message).toContain('longer than 255');
    expect(request.idempotencyKey).toBe('sb:orders:seq:42');
  });
});
