import { eventGridRouteSchema } from '@mcp-broker/broker-config';
import { describe, expect, it } from 'vitest';
import { EventRouter, RouteProblem } from './event-router.ts';
import type { InboundEvent } from './inbound-event.ts';

const event = (over: Partial<InboundEvent> = {}): InboundEvent => ({
  schema: 'cloudevents',
  id: 'e-1',
  type: 'Contoso.Orders.Created',
  subject: '/orders/O-1',
  source: '/contoso',
  time: undefined,
  data: { orderId: 'O-1' },
  traceparent: undefined,
  ...over,
});

const router = (...routes: Record<string, unknown>[]) =>
  new EventRouter(
    routes.map((r) => eventGridRouteSchema.parse(r)),
    'eventGrid.push[orders]',
  );

async function problem(promise: Promise<unknown>): Promise<RouteProblem> {
  const error = await promise.catch((e: unknown) => e);
  expect(error).toBeInstanceOf(RouteProblem);
  return error as RouteProblem;
}

describe('EventRouter', () => {
  it('picks the first route whose type (exact or prefix*) and subject filters match, case-insensitively as Event Grid filters do', async () => {
    const r = router(
      { eventType: 'Contoso.Orders.Created', subjectEndsWith: '.pdf', tool: 'first' },
      { eventType: 'contoso.orders.*', subjectBeginsWith: '/ORDERS/', tool: 'second' },
      { eventType: '*', tool: 'fallback' },
    );
    expect((await r.route(event(), 'body[0]', 'orders')).tool).toBe('second');
    expect((await r.route(event({ subject: '/orders/a.PDF' }), 'body[0]', 'orders')).route).toBe(0);
    expect((await r.route(event({ type: 'Other' }), 'body[0]', 'orders')).tool).toBe('fallback');
  });

  it('names the event, its type and subject when no route matches (subject clipped and made printable)', async () => {
    const p = await problem(
      router({ eventType: 'A', tool: 't' }).route(event({ subject: `x\u0000${'y'.repeat(300)}` }), 'body[3]', 'orders'),
    );
    expect(p.code).toBe('BROKER_EVENT_GRID_NO_ROUTE');
    expect(p.field).toBe('body[3]');
    expect(p.message).toContain('event type "Contoso.Orders.Created" with subject "x?yyy');
    expect(p.message.length).toBeLessThan(300);
  });

  it('defaults the arguments to the event data, which must then be an object', async () => {
    const r = router({ eventType: '*', tool: 't' });
    expect((await r.route(event(), 'body', 'orders')).arguments).toEqual({ orderId: 'O-1' });
    const p = await problem(r.route(event({ data: ['a'] }), 'body[1]', 'orders'));
    expect(p).toMatchObject({ code: 'BROKER_EVENT_GRID_EVENT_INVALID', field: 'body[1].data' });
    expect(p.message).toContain("body[1].data must be a JSON object (the tool's arguments), not an array");
  });

  it('evaluates arguments over the event, and refuses an expression that gives no object or fails', async () => {
    const r = router({
      eventType: '*',
      tool: 't',
      arguments: '{ "order": data.orderId, "by": subscription, "subject": subject }',
    });
    expect((await r.route(event(), 'body', 'orders')).arguments).toEqual({
      order: 'O-1',
      by: 'orders',
      subject: '/orders/O-1',
    });
    const scalar = await problem(
      router({ eventType: '*', tool: 't', arguments: 'data.orderId' }).route(event(), 'body', 'orders'),
    );
    expect(scalar.message).toContain('routes[0].arguments must give a JSON object, not a string');
    const failing = await problem(
      router({ eventType: '*', tool: 't', arguments: '$number("x")' }).route(event(), 'body', 'orders'),
    );
    expect(failing.message).toContain('routes[0].arguments of eventGrid.push[orders] failed on this event');
  });

  it('validates the write-back targets an expression gives, naming the index and the field', async () => {
    const r = router({ eventType: '*', tool: 't', writeBack: '{ "type": "event-grid", "topic": data.topic }' });
    expect((await r.route(event({ data: { topic: 'results' } }), 'body', 'orders')).writeBack).toEqual([
      { type: 'event-grid', topic: 'results' },
    ]);
    const p = await problem(r.route(event({ data: { topic: 'Not Valid' } }), 'body', 'orders'));
    expect(p.message).toContain('routes[0].writeBack[0].topic');
    const many = await problem(
      router({ eventType: '*', tool: 't', writeBack: '[1..11].{ "type": "event-grid", "topic": "t" }' }).route(
        event(),
        'body',
        'orders',
      ),
    );
    expect(many.message).toContain('gives 11 targets; at most 10');
  });
});
