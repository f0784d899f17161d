import { describe, expect, it } from 'vitest';
import { InboundEventProblem, readInboundEvents, schemaOf } from './inbound-event.ts';

const gridEvent = {
  id: 'g-1',
  topic: '/subscriptions/s/topics/t',
  subject: '/orders/1',
  eventType: 'Contoso.Orders.Created',
  eventTime: '2026-12-02T00:00:00Z',
  data: { orderId: 'O-1' },
  dataVersion: '1',
  metadataVersion: '1',
};
const cloudEvent = {
  specversion: '1.0',
  id: 'c-1',
  source: '/contoso',
  type: 'Contoso.Orders.Created',
  data: { a: 1 },
};

async function problem(events: unknown, schema: 'event-grid' | 'cloudevents'): Promise<InboundEventProblem> {
  const error = await readInboundEvents(events, schema).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(InboundEventProblem);
  return error as InboundEventProblem;
}

describe('readInboundEvents (EventGridDeserializer)', () => {
  it('reads both schemas into one shape, with the CloudEvents trace context', async () => {
    expect(await readInboundEvents([gridEvent], 'event-grid')).toEqual([
      expect.objectContaining({
        schema: 'event-grid',
        id: 'g-1',
        type: 'Contoso.Orders.Created',
        source: '/subscriptions/s/topics/t',
      }),
    ]);
    const [read] = await readInboundEvents({ ...cloudEvent, traceparent: '00-aa-bb-01' }, 'cloudevents');
    expect(read).toMatchObject({
      schema: 'cloudevents',
      id: 'c-1',
      source: '/contoso',
      data: { a: 1 },
      traceparent: '00-aa-bb-01',
    });
  });

  it('names the index and the attribute the deserializer refuses', async () => {
    const { eventType: _, ...noType } = gridEvent;
    expect((await problem([gridEvent, noType], 'event-grid')).field).toBe('body[1].eventType');
    expect((await problem([{ ...gridEvent, metadataVersion: '2' }], 'event-grid')).message).toContain(
      'not in the Event Grid schema',
    );
    expect((await problem([{ ...cloudEvent, source: 7 }], 'cloudevents')).field).toBe('body[0].source');
    expect((await problem({ ...cloudEvent, specversion: '0.3' }, 'cloudevents')).message).toContain('Cloud Event 1.0');
    expect((await problem([], 'cloudevents')).message).toContain('holds no events');
    expect((await problem(['text'], 'event-grid')).field).toBe('body[0]');
  });

  it('refuses binary CloudEvents data, which cannot be tool arguments', async () => {
    const { data: _, ...rest } = cloudEvent;
    expect((await problem({ ...rest, data_base64: 'aGk=', datacontenttype: 'text/plain' }, 'cloudevents')).field).toBe(
      'body.data_base64',
    );
  });

  it('tells the schema by the content type, or by specversion in application/json', () => {
    expect(schemaOf('application/cloudevents+json', {})).toBe('cloudevents');
    expect(schemaOf('application/cloudevents-batch+json', [])).toBe('cloudevents');
    expect(schemaOf('application/json', [cloudEvent])).toBe('cloudevents');
    expect(schemaOf('application/json', [gridEvent])).toBe('event-grid');
  });
});
