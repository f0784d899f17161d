import { readFileSync } from 'node:fs';
import {
  type Account,
  generateSampleData,
  type Opportunity,
  type Order,
  SAMPLE_DATA_REFERENCE_DATE,
  type SupportCase,
} from '@mcp-broker/sample-data';
import type { Store } from '@mcp-broker/store';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { useTestStore } from '../../test-support/test-store.ts';
import { testToolContext } from '../../test-support/tool-context.ts';
import { nextBestActionTool as tool } from './next-best-action.ts';
import { nextBestActionRules, nextBestActions } from './next-best-action-rules.ts';
import { type ToolContext, ToolError } from './tool-definition.ts';

const DAY = 86_400_000;
const REFERENCE = Date.parse(SAMPLE_DATA_REFERENCE_DATE);
const daysBefore = (days: number) => new Date(REFERENCE - days * DAY).toISOString();
const dayAfter = (days: number) => new Date(REFERENCE + days * DAY).toISOString().slice(0, 10);

const data = generateSampleData({ seed: 11, customers: 60 });
let store: Store;

useTestStore('next-best-action', {
  data,
  ready: async (s) => {
    store = s;
  },
});

/** A customer with exactly these records, written to the store; returns its id. */
interface Crafted {
  tiers?: Account['tier'][];
  /** [days before the reference date, total in USD] */
  orders?: [number, number][];
  deals?: { stage: Opportunity['stage']; amount: number; closeInDays: number }[];
  cases?: { priority: SupportCase['priority']; openedDaysAgo: number; closedDaysAgo?: number }[];
}

let nextNumber = 900_000;
async function craft(spec: Crafted): Promise<string> {
  const num = String(++nextNumber);
  const customerId = `cus-${num}`;
  const createdAt = daysBefore(700);
  const accounts: Account[] = (spec.tiers ?? ['bronze']).map((tier, i) => ({
    id: `acc-${num}-${i + 1}`,
    customerId,
    name: `Crafted ${num} unit ${i + 1}`,
    tier,
    annualRevenue: 1_000_000,
    createdAt,
  }));
  const orders: Order[] = (spec.orders ?? []).map(([days, total], i) => ({
    id: `ord-${num}-${String(i + 1).padStart(3, '0')}`,
    customerId,
    accountId: accounts[0]!.id,
    orderDate: daysBefore(days),
    region: 'emea',
    segment: 'mid-market',
    lines: [
      {
        productId: 'prd-0001',
        productName: 'Product',
        category: 'analytics',
        quantity: 1,
        unitPrice: total,
        amount: total,
      },
    ],
    total,
  }));
  const opportunities: Opportunity[] = (spec.deals ?? []).map((deal, i) => ({
    id: `opp-${num}-${String(i + 1).padStart(2, '0')}`,
    customerId,
    accountId: accounts[0]!.id,
    name: `Deal ${i + 1}`,
    stage: deal.stage,
    amount: deal.amount,
    currency: 'USD',
    productIds: ['prd-0001'],
    closeDate: dayAfter(deal.closeInDays),
    createdAt: daysBefore(100),
    updatedAt: daysBefore(10),
  }));
  const cases: SupportCase[] = (spec.cases ?? []).map((c, i) => ({
    id: `cas-${num}-${String(i + 1).padStart(2, '0')}`,
    customerId,
    subject: 'Crafted case',
    priority: c.priority,
    status: c.closedDaysAgo === undefined ? 'open' : 'closed',
    openedAt: daysBefore(c.openedDaysAgo),
    ...(c.closedDaysAgo === undefined ? {} : { closedAt: daysBefore(c.closedDaysAgo) }),
  }));
  const customer = {
    id: customerId,
    name: `Crafted ${num} Ltd`,
    segment: 'mid-market',
    region: 'emea',
    industry: 'Testing',
    createdAt,
    email: `ops@crafted-${num}.example.com`,
  };
  await store.container('customers').items.create(customer);
  const writes: [Parameters<Store['container']>[0], object[]][] = [
    ['accounts', accounts],
    ['orders', orders],
    ['opportunities', opportunities],
    ['cases', cases],
  ];
  await Promise.all(writes.flatMap(([name, records]) => records.map((r) => store.container(name).items.create(r))));
  return customerId;
}

function buildContext(signal?: AbortSignal): ToolContext {
  const { context } = testToolContext(store, { permissions: ['Customers.Read'] });
  return signal ? { ...context, signal } : context;
}

async function call(args: { customer_id: string; context?: string; as_of?: string }, context = buildContext()) {
  return tool.handler(tool.inputSchema.parse(args), context);
}

const ranking = (result: Awaited<ReturnType<typeof call>>) => result.actions.map((a) => [a.action, a.score]);
const action = (result: Awaited<ReturnType<typeof call>>, name: string) =>
  result.actions.find((a) => a.action === name);

describe('next_best_action rules on crafted customers', () => {
  it('puts follow_up_case first for a customer with a critical open case', async () => {
    const id = await craft({
      orders: [[20, 5_000]],
      deals: [{ stage: 'prospecting', amount: 10_000, closeInDays: 90 }],
      cases: [
        { priority: 'critical', openedDaysAgo: 3 },
        { priority: 'low', openedDaysAgo: 40 },
        { priority: 'high', openedDaysAgo: 200, closedDaysAgo: 150 },
      ],
    });
    const result = await call({ customer_id: id });
    // 60 base + 25 for one critical case; upsell is held back while an urgent case is open.
    expect(ranking(result)).toEqual([
      ['follow_up_case', 85],
      ['close_open_deal', 30],
    ]);
    const followUp = result.actions[0]!;
    expect(followUp.rationale).toBe(
      '1 critical case and 0 high-priority cases unresolved, the oldest open for 3 days: follow up on them before ' +
        'pursuing new business.',
    );
    expect(followUp.signals).toEqual({
      open_critical_cases: 1,
      open_high_cases: 0,
      oldest_urgent_case_days: 3,
      open_case_count: 2,
    });
    expect(followUp.breakdown).toEqual({ base: 60, critical_cases: 25, high_cases: 0, aged: 0 });
  });

  it('adds points for every urgent case and for cases open more than 14 days, capped at 100', async () => {
    const aged = await call({
      customer_id: await craft({ cases: [{ priority: 'high', openedDaysAgo: 15 }], orders: [[10, 100]] }),
    });
    expect(action(aged, 'follow_up_case')).toMatchObject({ score: 80, breakdown: { high_cases: 10, aged: 10 } });
    const many = await call({
      customer_id: await craft({
        cases: [
          { priority: 'critical', openedDaysAgo: 1 },
          { priority: 'critical', openedDaysAgo: 2 },
        ],
      }),
    });
    expect(action(many, 'follow_up_case')?.score).toBe(100);
  });

  it('flags a decline between the last two 6-month windows as rescue, citing the figures', async () => {
    const id = await craft({
      tiers: ['gold', 'silver'],
      orders: [
        [300, 25_000],
        [250, 15_000],
        [100, 10_000],
      ],
    });
    const result = await call({ customer_id: id });
    const rescue = action(result, 'rescue')!;
    // -75 %: 35 base + round(75 × 3 / 10) = 23 + gold 10.
    expect(rescue.score).toBe(68);
    expect(rescue.breakdown).toEqual({ base: 35, decline: 23, gap: 0, urgent_cases: 0, tier: 10 });
    expect(rescue.rationale).toBe(
      'Churn risk: order value fell 75% ($40,000 in the prior 6 months, $10,000 in the last 6) on a gold account; ' +
        'reach out with a retention offer.',
    );
    expect(rescue.signals).toMatchObject({
      order_value_prior_6m: 40_000,
      order_value_last_6m: 10_000,
      order_value_change_pct: -75,
      days_since_last_order: 100,
      best_tier: 'gold',
    });
    // A 29 % decline is below the threshold; a recent order and no decline make it an upsell instead.
    const mild = await call({
      customer_id: await craft({
        orders: [
          [300, 10_000],
          [60, 7_100],
        ],
      }),
    });
    expect(action(mild, 'rescue')).toBeUndefined();
    expect(action(mild, 'upsell')).toBeUndefined();
  });

  it('flags a long gap since the last order as rescue', async () => {
    const result = await call({ customer_id: await craft({ tiers: ['platinum'], orders: [[300, 8_000]] }) });
    const rescue = action(result, 'rescue')!;
    // Nothing in the last 6 months (-100 % → 30), last order 300 days ago (> 240 → 20), platinum 15.
    expect(rescue.breakdown).toEqual({ base: 35, decline: 30, gap: 20, urgent_cases: 0, tier: 15 });
    expect(rescue.score).toBe(100);
    expect(rescue.rationale).toContain('the last order was 300 days ago');

    const shortGap = await call({ customer_id: await craft({ orders: [[130, 8_000]] }) });
    expect(action(shortGap, 'rescue')?.breakdown).toMatchObject({ gap: 10, decline: 0 });
    const noGap = await call({ customer_id: await craft({ orders: [[120, 8_000]] }) });
    expect(action(noGap, 'rescue')).toBeUndefined();
  });

  it('re-engages customers with no order for a year and no open deal', async () => {
    const never = await call({ customer_id: await craft({ tiers: ['platinum', 'bronze'] }) });
    expect(ranking(never)).toEqual([['re_engage', 55]]);
    expect(never.actions[0]!.rationale).toBe(
      'No orders ever and no open deals on a platinum account: re-engage with a campaign or a call.',
    );
    const lapsed = await call({ customer_id: await craft({ tiers: ['silver'], orders: [[500, 1_000]] }) });
    expect(ranking(lapsed)).toEqual([['re_engage', 55]]);
    expect(lapsed.actions[0]!.breakdown).toEqual({ base: 40, lapsed_buyer: 10, tier: 5 });
    expect(lapsed.actions[0]!.rationale).toContain('No order for 500 days (1 order before)');

    const courted = await call({
      customer_id: await craft({
        orders: [[500, 1_000]],
        deals: [{ stage: 'qualification', amount: 5_000, closeInDays: 100 }],
      }),
    });
    expect(ranking(courted)).toEqual([['close_open_deal', 40]]);
  });

  it('scores open deals by stage, closeness and size', async () => {
    const result = await call({
      customer_id: await craft({
        orders: [[200, 1_000]],
        deals: [
          { stage: 'negotiation', amount: 200_000, closeInDays: 10 },
          { stage: 'proposal', amount: 100_000, closeInDays: 70 },
          { stage: 'closed_won', amount: 900_000, closeInDays: -30 },
        ],
      }),
    });
    const deal = action(result, 'close_open_deal')!;
    expect(deal.breakdown).toEqual({ base: 30, stage: 30, closing_soon: 20, pipeline: 15 });
    expect(deal.score).toBe(95);
    expect(deal.rationale).toBe(
      '2 open deals worth $300,000 (most advanced stage negotiation, nearest close expected in 10 days): push to close.',
    );
    expect(result.actions[0]!.action).toBe('close_open_deal');

    const overdue = await call({
      customer_id: await craft({ deals: [{ stage: 'proposal', amount: 60_000, closeInDays: -5 }] }),
    });
    expect(action(overdue, 'close_open_deal')).toMatchObject({
      score: 78,
      breakdown: { stage: 20, closing_soon: 20, pipeline: 8 },
      signals: { days_to_nearest_close: -5 },
    });
    expect(action(overdue, 'close_open_deal')!.rationale).toContain('nearest close 5 days overdue');
  });

  it('proposes a renewal for orders placed a year ago', async () => {
    const result = await call({ customer_id: await craft({ tiers: ['platinum'], orders: [[365, 60_000]] }) });
    // The year-old order is also a 365-day gap, so rescue fires too, lower.
    expect(ranking(result)).toEqual([
      ['renew', 75],
      ['rescue', 70],
    ]);
    expect(result.actions[0]!.rationale).toBe(
      '1 order worth $60,000 placed a year ago (335–395 days back) and none in the last 30 days on a platinum ' +
        'account: propose the renewal.',
    );
    const renewed = await call({
      customer_id: await craft({
        orders: [
          [365, 60_000],
          [20, 60_000],
        ],
      }),
    });
    expect(action(renewed, 'renew')).toBeUndefined();
  });

  it('suggests an upsell to a recent, growing buyer without urgent cases', async () => {
    const id = await craft({
      tiers: ['gold'],
      orders: [
        [250, 10_000],
        [70, 5_000],
        [40, 5_000],
        [10, 5_000],
      ],
    });
    const result = await call({ customer_id: id });
    // +50 % (≥ 25 → 15), 3 orders in 6 months (10), gold (10).
    expect(ranking(result)).toEqual([['upsell', 70]]);
    expect(result.actions[0]!.rationale).toBe(
      'Last order 10 days ago, 3 orders worth $15,000 in the last 6 months (+50% on the prior 6 months) and no ' +
        'urgent cases on a gold account: offer an upgrade or add-on.',
    );
  });

  it('boosts an action whose keywords the context mentions, and echoes the context', async () => {
    const id = await craft({ orders: [[10, 5_000]], deals: [{ stage: 'proposal', amount: 1_000, closeInDays: 100 }] });
    const plain = await call({ customer_id: id });
    // A tie: by action name.
    expect(ranking(plain)).toEqual([
      ['close_open_deal', 50],
      ['upsell', 50],
    ]);
    expect(plain.context).toBeNull();

    const context = 'They asked about a QUOTE for more seats.';
    const boosted = await call({ customer_id: id, context });
    expect(boosted.context).toBe(context);
    expect(ranking(boosted)).toEqual([
      ['close_open_deal', 60],
      ['upsell', 50],
    ]);
    expect(boosted.actions[0]!.breakdown.context).toBe(10);
    expect(boosted.actions[0]!.signals.context_match).toBe(true);

    // Keywords match at the start of a word only, and never make a rule fire.
    expect(ranking(await call({ customer_id: id, context: 'showcase; renewal' }))).toEqual(ranking(plain));
  });
});

describe('next_best_action', () => {
  it('is deterministic and judges from the sample data’s reference date by default', async () => {
    for (const customer of data.customers) {
      const first = await call({ customer_id: customer.id });
      const second = await call({ customer_id: customer.id });
      expect(second).toEqual(first);
      expect(await call({ customer_id: customer.id, as_of: SAMPLE_DATA_REFERENCE_DATE })).toEqual(first);
      expect(first.asOf).toBe(SAMPLE_DATA_REFERENCE_DATE);
      expect(first.customerName).toBe(customer.name);
      const scores = first.actions.map((a) => a.score);
      expect(scores).toEqual([...scores].sort((a, b) => b - a));
      for (const [i, a] of first.actions.entries()) {
        expect(Number.isInteger(a.score) && a.score >= 0 && a.score <= 100).toBe(true);
        const sum = Object.values(a.breakdown).reduce((s, p) => s + p, 0);
        expect(a.score).toBe(Math.min(100, sum));
        const next = first.actions[i + 1];
        if (next?.score === a.score) expect(a.action < next.action).toBe(true);
      }
      expect(tool.outputSchema.strict().parse(first)).toBeTruthy();
    }
  }, 60_000);

  it('ignores records after as_of and counts cases closed later as unresolved', async () => {
    const id = await craft({
      orders: [
        [400, 2_000],
        [5, 2_000],
      ],
      cases: [{ priority: 'critical', openedDaysAgo: 30, closedDaysAgo: 10 }],
    });
    const now = await call({ customer_id: id });
    expect(action(now, 'follow_up_case')).toBeUndefined();
    expect(now.signals.days_since_last_order).toBe(5);

    const earlier = await call({ customer_id: id, as_of: daysBefore(20).slice(0, 10) });
    expect(earlier.asOf).toBe(`${daysBefore(20).slice(0, 10)}T00:00:00.000Z`);
    expect(earlier.signals).toMatchObject({ days_since_last_order: 380, open_critical_cases: 1 });
    expect(earlier.actions[0]).toMatchObject({ action: 'follow_up_case', score: 85 });
  });

  it('fails with a ToolError naming the id when the customer does not exist', async () => {
    const error = await call({ customer_id: 'cus-999999' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ToolError);
    expect((error as Error).message).toContain('No customer with id "cus-999999"');
  });

  it('validates its arguments', () => {
    const bad: [object, string][] = [
      [{ customer_id: 'cus-1' }, 'customer_id'],
      [{ customer_id: "cus-000001' OR 1=1" }, 'customer_id'],
      [{ customer_id: 'cus-000001', context: 'x'.repeat(501) }, 'context'],
      [{ customer_id: 'cus-000001', as_of: 'yesterday' }, 'as_of'],
      [{ customer_id: 'cus-000001', as_of: '2026-13-01' }, 'as_of'],
    ];
    for (const [args, field] of bad) {
      const parsed = tool.inputSchema.safeParse(args);
      expect(parsed.success, JSON.stringify(args)).toBe(false);
      expect(parsed.error?.issues[0]?.path).toEqual([field]);
    }
    for (const as_of of ['2026-01-31', '2026-01-31T12:00:00Z', '2026-01-31T12:00:00.000Z']) {
      expect(tool.inputSchema.safeParse({ customer_id: 'cus-000001', as_of, context: 'x'.repeat(500) }).success).toBe(
        true,
      );
    }
  });

  it('does not read when its signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('cancelled by test'));
    await expect(call({ customer_id: data.customers[0]!.id }, buildContext(controller.signal))).rejects.toThrow(
      /cancelled by test|abort/i,
    );
  });

  it('declares its permission, timeout and self-documenting schemas, and its rules are documented', () => {
    expect(tool.name).toBe('next_best_action');
    expect(tool.requiredPermissions).toEqual(['Customers.Read']);
    expect(tool.timeoutMs).toBe(10_000);
    for (const schema of [tool.inputSchema, tool.outputSchema]) {
      const json = z.toJSONSchema(schema, { io: 'input' }) as { properties: Record<string, { description?: string }> };
      for (const [name, property] of Object.entries(json.properties)) expect(property.description, name).toBeTruthy();
    }
    const docs = readFileSync(new URL('../../../../docs/tools.md', import.meta.url), 'utf8');
    const start = docs.indexOf('## `next_best_action`');
    expect(start).toBeGreaterThan(0);
    const section = docs.slice(start, docs.indexOf('\n## ', start + 1));
    for (const name of nextBestActions) expect(section, name).toContain(`\`${name}\``);
    expect(section).toContain(String(nextBestActionRules.windows.halfYearDays));
  });
});
