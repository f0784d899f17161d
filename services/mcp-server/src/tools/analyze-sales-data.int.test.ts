import { generateSampleData, type Order, type SampleData } from '@mcp-broker/sample-data';
import type { Store } from '@mcp-broker/store';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { useTestStore } from '../../test-support/test-store.ts';
import { type TestToolContext, testToolContext } from '../../test-support/tool-context.ts';
import { analyzeSalesDataTool, buildAnalyzeSalesDataTool } from './analyze-sales-data.ts';

const data = generateSampleData({ seed: 23, customers: 60 });
// Small pages so a 60-customer data set still spans many pages.
const tool = buildAnalyzeSalesDataTool({ pageSize: 25 });
let store: Store;

useTestStore('analyze-sales-data', {
  data,
  ready: async (s) => {
    store = s;
  },
});

type Harness = TestToolContext;

function harness(): Harness {
  return testToolContext(store, { permissions: ['Sales.Read'] });
}

async function run(args: Record<string, unknown>, h = harness()) {
  return tool.handler(tool.inputSchema.parse(args), h.context);
}

// ---- An independent calculation over the generated arrays, deliberately written differently from
// the tool: floats instead of cents, Date objects for the previous period, segments looked up on
// the customer instead of read from the order.
const DAY_MS = 24 * 60 * 60 * 1000;
const round2 = (n: number) => Math.round(n * 100) / 100;
const dayOf = (o: Order) => o.orderDate.slice(0, 10);
const revenueOf = (orders: Order[]) => orders.reduce((sum, o) => sum + o.lines.reduce((s, l) => s + l.amount, 0), 0);
const shiftDay = (day: string, days: number) =>
  new Date(new Date(`${day}T00:00:00Z`).getTime() + days * DAY_MS).toISOString().slice(0, 10);

function expected(source: SampleData, args: { from: string; to: string; region?: string; group_by?: string }) {
  const length = Math.round((new Date(args.to).getTime() - new Date(args.from).getTime()) / DAY_MS) + 1;
  const previousPeriod = { from: shiftDay(args.from, -length), to: shiftDay(args.from, -1) };
  const pick = (from: string, to: string) =>
    source.orders.filter((o) => dayOf(o) >= from && dayOf(o) <= to && (!args.region || o.region === args.region));
  const current = pick(args.from, args.to);
  const previous = pick(previousPeriod.from, previousPeriod.to);
  const revenue = revenueOf(current);
  const previousRevenue = revenueOf(previous);
  const segmentOf = new Map(source.customers.map((c) => [c.id, c.segment]));

  const buckets = new Map<string, { label: string; revenue: number; orders: Set<string> }>();
  const add = (key: string, label: string, amount: number, orderId: string) => {
    const bucket = buckets.get(key) ?? { label, revenue: 0, orders: new Set<string>() };
    bucket.revenue += amount;
    bucket.orders.add(orderId);
    buckets.set(key, bucket);
  };
  const groupBy = args.group_by ?? 'month';
  for (const o of current) {
    for (const line of o.lines) {
      if (groupBy === 'product') add(line.productId, line.productName, line.amount, o.id);
      if (groupBy === 'month') add(o.orderDate.slice(0, 7), o.orderDate.slice(0, 7), line.amount, o.id);
      if (groupBy === 'segment') add(segmentOf.get(o.customerId)!, segmentOf.get(o.customerId)!, line.amount, o.id);
    }
  }
  const productTotals = new Map<string, { productName: string; revenue: number; quantity: number }>();
  for (const line of current.flatMap((o) => o.lines)) {
    const p = productTotals.get(line.productId) ?? { productName: line.productName, revenue: 0, quantity: 0 };
    p.revenue += line.amount;
    p.quantity += line.quantity;
    productTotals.set(line.productId, p);
  }
  const pct = (now: number, before: number) => (before === 0 ? null : round2(((now - before) / before) * 100));
  return {
    period: { from: args.from, to: args.to },
    previousPeriod,
    region: args.region ?? null,
    groupBy,
    totals: {
      revenue: round2(revenue),
      orderCount: current.length,
      averageOrderValue: current.length ? round2(revenue / current.length) : 0,
    },
    growth: {
      revenue: {
        previous: round2(previousRevenue),
        change: round2(revenue - previousRevenue),
        changePct: pct(revenue, previousRevenue),
      },
      orderCount: {
        previous: previous.length,
        change: current.length - previous.length,
        changePct: pct(current.length, previous.length),
      },
    },
    groups: [...buckets.entries()]
      .map(([key, b]) => ({
        key,
        label: b.label,
        revenue: round2(b.revenue),
        orderCount: b.orders.size,
        averageOrderValue: round2(b.revenue / b.orders.size),
      }))
      .sort((a, b) => b.revenue - a.revenue || (a.key < b.key ? -1 : 1)),
    topProducts: [...productTotals.entries()]
      .map(([productId, p]) => ({
        productId,
        productName: p.productName,
        revenue: round2(p.revenue),
        quantity: p.quantity,
      }))
      .sort((a, b) => b.revenue - a.revenue || (a.productId < b.productId ? -1 : 1))
      .slice(0, 5),
  };
}

describe('analyze_sales_data', () => {
  it('matches an independent calculation, grouped by month by default', async () => {
    const args = { from: '2025-07-01', to: '2025-12-31' };
    const result = await run(args);
    expect(result).toEqual(expected(data, args));
    expect(result.groupBy).toBe('month');
    expect(result.previousPeriod).toEqual({ from: '2024-12-29', to: '2025-06-30' });
    expect(result.totals.orderCount).toBeGreaterThan(20);
    expect(result.growth.revenue.changePct).not.toBeNull();
  });

  it('matches when grouped by product, for one region', async () => {
    const args = { from: '2025-01-01', to: '2025-12-31', region: 'emea', group_by: 'product' };
    const result = await run(args);
    expect(result).toEqual(expected(data, args));
    expect(result.groups.length).toBeGreaterThan(5);
    const emeaOrders = data.orders.filter((o) => o.region === 'emea' && o.orderDate.startsWith('2025'));
    expect(result.totals.orderCount).toBe(emeaOrders.length);
  });

  it('matches when grouped by segment, for another region', async () => {
    const args = { from: '2025-04-01', to: '2026-03-31', region: 'amer', group_by: 'segment' };
    const result = await run(args);
    expect(result).toEqual(expected(data, args));
    expect(result.groups.map((g) => g.key).sort()).toEqual(['enterprise', 'mid-market', 'smb']);
  });

  it('compares with the previous period of the same length, month by month', async () => {
    const result = await run({ from: '2026-01-01', to: '2026-01-31', group_by: 'month' });
    expect(result.previousPeriod).toEqual({ from: '2025-12-01', to: '2025-12-31' });
    const december = data.orders.filter((o) => o.orderDate.startsWith('2025-12'));
    const january = data.orders.filter((o) => o.orderDate.startsWith('2026-01'));
    expect(result.growth.orderCount).toEqual({
      previous: december.length,
      change: january.length - december.length,
      changePct: december.length ? round2(((january.length - december.length) / december.length) * 100) : null,
    });
    expect(result.growth.revenue.previous).toBe(round2(revenueOf(december)));
    expect(result.groups.map((g) => g.key)).toEqual(['2026-01']);
  });

  it('counts both boundary days and reports null growth against an empty period', async () => {
    const firstDay = data.orders.map(dayOf).sort()[0]!;
    const args = { from: firstDay, to: firstDay, group_by: 'product' };
    const result = await run(args);
    expect(result).toEqual(expected(data, args));
    expect(result.totals.orderCount).toBe(data.orders.filter((o) => dayOf(o) === firstDay).length);
    expect(result.growth.revenue).toEqual({ previous: 0, change: result.totals.revenue, changePct: null });
    expect(result.growth.orderCount.changePct).toBeNull();
  });

  it('returns zeros and empty lists for a period without orders', async () => {
    const result = await run({ from: '2020-01-01', to: '2020-12-31' });
    expect(result.totals).toEqual({ revenue: 0, orderCount: 0, averageOrderValue: 0 });
    expect(result.groups).toEqual([]);
    expect(result.topProducts).toEqual([]);
    expect(result.growth.revenue.changePct).toBeNull();
  });

  it('reports progress after every page', async () => {
    const h = harness();
    const args = { from: '2025-07-01', to: '2026-06-29' };
    await run(args, h);
    const ordersRead = data.orders.filter((o) => dayOf(o) >= '2024-07-01' && dayOf(o) <= '2026-06-29').length;
    expect(h.progress.length).toBeGreaterThanOrEqual(Math.ceil(ordersRead / 25));
    expect(h.progress.map((p) => p.progress)).toEqual(h.progress.map((_, i) => i + 1));
    expect(h.progress.at(-1)?.message).toContain(`Read ${ordersRead} orders`);
  });

  it('stops with an error when its signal is aborted, before or between pages', async () => {
    const before = harness();
    before.controller.abort(new Error('cancelled by test'));
    await expect(run({ from: '2025-01-01', to: '2025-12-31' }, before)).rejects.toThrow(/cancelled by test|abort/i);
    expect(before.progress).toEqual([]);

    const midway = harness();
    midway.context.progress = async (update) => {
      midway.progress.push(update);
      midway.controller.abort(new Error('cancelled by test'));
    };
    await expect(run({ from: '2025-01-01', to: '2025-12-31' }, midway)).rejects.toThrow('cancelled by test');
    expect(midway.progress).toHaveLength(1);
  });

  it('validates dates and the range, naming the field', () => {
    const issues = (args: Record<string, unknown>) => tool.inputSchema.safeParse(args).error?.issues ?? [];
    const reversed = issues({ from: '2025-02-01', to: '2025-01-31' });
    expect(reversed).toHaveLength(1);
    expect(reversed[0]?.path).toEqual(['to']);
    expect(reversed[0]?.message).toMatch(/"to" \(2025-01-31\) must be on or after "from" \(2025-02-01\)/);

    const tooLong = issues({ from: '2022-03-01', to: '2025-03-01' });
    expect(tooLong[0]?.path).toEqual(['to']);
    expect(tooLong[0]?.message).toMatch(/more than 3 years/);
    expect(tooLong[0]?.message).toContain('2025-02-28');
    expect(issues({ from: '2022-03-01', to: '2025-02-28' })).toEqual([]);

    expect(issues({ from: '2025-13-01', to: '2025-12-31' })[0]?.path).toEqual(['from']);
    expect(issues({ from: '2025-01-01', to: '2025-02-30' })[0]?.path).toEqual(['to']);
    expect(issues({ from: '2025-01-01T00:00:00Z', to: '2025-02-01' })[0]?.path).toEqual(['from']);
    expect(issues({ from: '2025-01-01', to: '2025-02-01', region: 'mars' })[0]?.path).toEqual(['region']);
    expect(issues({ from: '2025-01-01', to: '2025-02-01', group_by: 'week' })[0]?.path).toEqual(['group_by']);
    expect(issues({ to: '2025-02-01' })[0]?.path).toEqual(['from']);
  });

  it('declares its permission, timeout and self-documenting schemas', () => {
    expect(analyzeSalesDataTool.name).toBe('analyze_sales_data');
    expect(analyzeSalesDataTool.requiredPermissions).toEqual(['Sales.Read']);
    expect(analyzeSalesDataTool.timeoutMs).toBe(30_000);
    const input = z.toJSONSchema(analyzeSalesDataTool.inputSchema, { io: 'input' }) as {
      properties: Record<string, { description?: string }>;
      required?: string[];
    };
    expect(input.required?.sort()).toEqual(['from', 'to']);
    for (const [name, property] of Object.entries(input.properties)) expect(property.description, name).toBeTruthy();
    const output = z.toJSONSchema(analyzeSalesDataTool.outputSchema) as {
      properties: Record<string, { description?: string }>;
    };
    for (const [name, property] of Object.entries(output.properties)) expect(property.description, name).toBeTruthy();
  });

  it('returns output that matches its schema', async () => {
    const result = await analyzeSalesDataTool.handler(
      analyzeSalesDataTool.inputSchema.parse({ from: '2025-01-01', to: '2025-06-30', group_by: 'segment' }),
      harness().context,
    );
    expect(analyzeSalesDataTool.outputSchema.strict().parse(result)).toEqual(result);
    expect(result).toEqual(expected(data, { from: '2025-01-01', to: '2025-06-30', group_by: 'segment' }));
  });
});
