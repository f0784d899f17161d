import {
  type Account,
  type Customer,
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
import { buildAccountPlanTool, buildBuildAccountPlanTool } from './build-account-plan.ts';
import { ToolError } from './tool-definition.ts';

const data = generateSampleData({ seed: 31, customers: 60 });
const PAGE_SIZE = 3;
const tool = buildBuildAccountPlanTool({ pageSize: PAGE_SIZE });
let store: Store;

// The account with the most orders: several pages of each kind at PAGE_SIZE.
const ordersByAccount = Map.groupBy(data.orders, (o) => o.accountId);
const busiest = data.accounts.reduce((best, a) =>
  (ordersByAccount.get(a.id)?.length ?? 0) > (ordersByAccount.get(best.id)?.length ?? 0) ? a : best,
);

useTestStore('build-account-plan', {
  data,
  ready: async (s) => {
    store = s;
  },
});

function harness() {
  return testToolContext(store, { permissions: ['Accounts.Read'] });
}

async function run(accountId: string, h = harness(), t = tool, asOf?: string) {
  return t.handler(t.inputSchema.parse({ account_id: accountId, ...(asOf ? { as_of: asOf } : {}) }), h.context);
}

// ---- An independent calculation over the generated arrays: floats and Date objects, whole arrays
// filtered per figure instead of one streaming pass, two-pass variance instead of Welford.
const DAY_MS = 24 * 3600 * 1000;
const r2 = (n: number) => Math.round(n * 100) / 100;
const quarter = (iso: string) => {
  const d = new Date(iso);
  return `${d.getUTCFullYear()}-Q${Math.floor(d.getUTCMonth() / 3) + 1}`;
};
const orderValue = (o: Order) => o.lines.reduce((s, l) => s + l.amount, 0);
const stats = (xs: number[]) => {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const variance = xs.length > 1 ? xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (xs.length - 1) : 0;
  return {
    mean: r2(mean),
    stdDev: r2(Math.sqrt(variance)),
    min: r2(Math.min(...xs)),
    max: r2(Math.max(...xs)),
    observations: xs.length,
  };
};
const quarterRange = (first: string, last: string) => {
  const out: string[] = [];
  let [y, q] = [Number(first.slice(0, 4)), Number(first.slice(6))];
  while (`${y}-Q${q}` <= last) {
    out.push(`${y}-Q${q}`);
    [y, q] = q === 4 ? [y + 1, 1] : [y, q + 1];
  }
  return out;
};

function expectedFigures(account: Account, AS_OF = Date.parse(SAMPLE_DATA_REFERENCE_DATE)) {
  const before = (iso: string) => new Date(iso).getTime() < AS_OF;
  const orders = data.orders
    .filter((o) => o.accountId === account.id && before(o.orderDate))
    .sort((a, b) => a.orderDate.localeCompare(b.orderDate));
  const opportunities = data.opportunities.filter((o) => o.accountId === account.id && before(o.createdAt));
  // As of AS_OF, a case closed later was still open.
  const cases = data.cases
    .filter((c) => c.customerId === account.customerId && before(c.openedAt))
    .map((c) => (c.closedAt && !before(c.closedAt) ? { ...c, status: 'open' as const, closedAt: undefined } : c));
  const t = (o: Order) => new Date(o.orderDate).getTime();
  const revenue = orders.reduce((s, o) => s + orderValue(o), 0);
  const trailing = orders
    .filter((o) => t(o) > AS_OF - 365 * DAY_MS && t(o) <= AS_OF)
    .reduce((s, o) => s + orderValue(o), 0);
  const previous = orders
    .filter((o) => t(o) > AS_OF - 730 * DAY_MS && t(o) <= AS_OF - 365 * DAY_MS)
    .reduce((s, o) => s + orderValue(o), 0);
  const open = opportunities.filter((o) => !o.stage.startsWith('closed'));
  const probability: Record<string, number> = {
    prospecting: 0.1,
    qualification: 0.2,
    proposal: 0.5,
    negotiation: 0.75,
  };
  const won = opportunities.filter((o) => o.stage === 'closed_won').length;
  const lost = opportunities.filter((o) => o.stage === 'closed_lost').length;
  const lines = orders.flatMap((o) => o.lines.map((l) => ({ ...l, orderId: o.id })));
  const productIds = [...new Set(lines.map((l) => l.productId))];
  const productMix = productIds
    .map((productId) => {
      const ls = lines.filter((l) => l.productId === productId);
      const rev = ls.reduce((s, l) => s + l.amount, 0);
      return {
        productId,
        productName: ls[0]!.productName,
        category: ls[0]!.category,
        revenue: r2(rev),
        quantity: ls.reduce((s, l) => s + l.quantity, 0),
        orderCount: new Set(ls.map((l) => l.orderId)).size,
        sharePct: r2((rev / revenue) * 100),
      };
    })
    .sort((a, b) => b.revenue - a.revenue || a.productId.localeCompare(b.productId));
  const categories = [...new Set(lines.map((l) => l.category))]
    .map((category) => {
      const rev = lines.filter((l) => l.category === category).reduce((s, l) => s + l.amount, 0);
      return { category, revenue: r2(rev), sharePct: r2((rev / revenue) * 100) };
    })
    .sort((a, b) => b.revenue - a.revenue);
  const asOfQuarter = quarter(new Date(AS_OF).toISOString());
  const lastOrderQuarter = quarter(orders.at(-1)!.orderDate);
  const quarters = quarterRange(quarter(orders[0]!.orderDate), [lastOrderQuarter, asOfQuarter].sort().at(-1)!);
  const caseQuarterKeys = [
    ...cases.map((c) => quarter(c.openedAt)),
    ...cases.flatMap((c) => (c.closedAt ? [quarter(c.closedAt)] : [])),
  ].sort();
  const caseLast = (caseQuarterKeys.at(-1) ?? '') > asOfQuarter ? caseQuarterKeys.at(-1)! : asOfQuarter;
  const resolved = cases.filter((c) => c.status === 'closed');
  // The best 365-day window ending on an order.
  const windows = orders.map((o) => ({
    at: o.orderDate.slice(0, 10),
    revenue: orders.filter((p) => t(p) <= t(o) && t(p) > t(o) - 365 * DAY_MS).reduce((s, p) => s + orderValue(p), 0),
  }));
  const peak = windows.reduce((best, w) => (w.revenue > best.revenue + 1e-9 ? w : best));
  let ewma = orderValue(orders[0]!);
  for (const o of orders.slice(1)) ewma = 0.3 * orderValue(o) + 0.7 * ewma;

  return {
    counts: { orders: orders.length, opportunities: opportunities.length, cases: cases.length },
    summary: {
      lifetimeRevenue: r2(revenue),
      orderCount: orders.length,
      averageOrderValue: r2(revenue / orders.length),
      firstOrderDate: orders[0]!.orderDate.slice(0, 10),
      lastOrderDate: orders.at(-1)!.orderDate.slice(0, 10),
      trailing12MonthRevenue: r2(trailing),
      previous12MonthRevenue: r2(previous),
      revenueGrowthPct: previous === 0 ? null : r2(((trailing - previous) / previous) * 100),
      openPipeline: r2(open.reduce((s, o) => s + o.amount, 0)),
      weightedPipeline: r2(open.reduce((s, o) => s + o.amount * probability[o.stage]!, 0)),
      winRatePct: won + lost === 0 ? null : r2((won / (won + lost)) * 100),
      openCases: cases.filter((c) => c.status !== 'closed').length,
    },
    revenueByQuarter: quarters.map((q) => {
      const inQ = orders.filter((o) => quarter(o.orderDate) === q);
      return { quarter: q, revenue: r2(inQ.reduce((s, o) => s + orderValue(o), 0)), orderCount: inQ.length };
    }),
    productMix,
    categoryMix: categories,
    pipelineByStage: ['prospecting', 'qualification', 'proposal', 'negotiation', 'closed_won', 'closed_lost'].map(
      (stage) => {
        const inStage = opportunities.filter((o) => o.stage === stage);
        return { stage, count: inStage.length, amount: r2(inStage.reduce((s, o) => s + o.amount, 0)) };
      },
    ),
    caseTrends: {
      total: cases.length,
      byQuarter: (cases.length ? quarterRange(caseQuarterKeys[0]!, caseLast) : []).map((q) => ({
        quarter: q,
        opened: cases.filter((c) => quarter(c.openedAt) === q).length,
        closed: cases.filter((c) => c.closedAt && quarter(c.closedAt) === q).length,
      })),
      openByPriority: Object.fromEntries(
        ['low', 'medium', 'high', 'critical'].map((p) => [
          p,
          cases.filter((c) => c.priority === p && c.status !== 'closed').length,
        ]),
      ),
      averageResolutionDays: resolved.length
        ? r2(
            resolved.reduce(
              (s, c) => s + (new Date(c.closedAt!).getTime() - new Date(c.openedAt).getTime()) / DAY_MS,
              0,
            ) / resolved.length,
          )
        : null,
    },
    rollingStatistics: {
      orderValue: { ...stats(orders.map(orderValue)), ewma: r2(ewma) },
      daysBetweenOrders:
        orders.length > 1 ? stats(orders.slice(1).map((o, i) => (t(o) - t(orders[i]!)) / DAY_MS)) : null,
      daysSinceLastOrder: r2((AS_OF - t(orders.at(-1)!)) / DAY_MS),
      peakTrailing12MonthRevenue: { revenue: r2(peak.revenue), at: peak.at },
      unitPriceByProduct: [...productIds].sort().map((productId) => ({
        productId,
        ...stats(lines.filter((l) => l.productId === productId).map((l) => l.unitPrice)),
      })),
    },
  };
}

const pagesFor = (n: number) => Math.max(1, Math.ceil(n / PAGE_SIZE));

describe('build_account_plan', () => {
  it('matches an independent calculation over the generated data', async () => {
    const expected = expectedFigures(busiest);
    expect(expected.counts.orders).toBeGreaterThan(PAGE_SIZE * 2);
    const plan = await run(busiest.id);
    expect(plan.asOf).toBe(SAMPLE_DATA_REFERENCE_DATE);
    expect(plan.account).toEqual(busiest);
    expect(plan.customer).toEqual(data.customers.find((c) => c.id === busiest.customerId));
    expect(plan.summary).toEqual(expected.summary);
    expect(plan.revenueByQuarter).toEqual(expected.revenueByQuarter);
    expect(plan.productMix).toEqual(expected.productMix);
    expect(plan.categoryMix).toEqual(expected.categoryMix);
    expect(plan.pipelineByStage).toEqual(expected.pipelineByStage);
    expect(plan.caseTrends).toEqual(expected.caseTrends);
    expect(plan.rollingStatistics).toEqual(expected.rollingStatistics);
    const { orders, opportunities, cases } = expected.counts;
    expect(plan.recordsRead).toBe(orders + opportunities + cases);
    expect(plan.pagesRead).toBe(pagesFor(orders) + pagesFor(opportunities) + pagesFor(cases));
    expect(buildAccountPlanTool.outputSchema.strict().parse(plan)).toEqual(plan);
  });

  it('matches for every account of several customers, including accounts without orders', async () => {
    const customers = new Set(data.customers.slice(0, 6).map((c) => c.id));
    const accounts = data.accounts.filter((a) => customers.has(a.customerId));
    for (const account of accounts) {
      const plan = await run(account.id);
      const orders = data.orders.filter((o) => o.accountId === account.id);
      const cases = data.cases.filter((c) => c.customerId === account.customerId);
      const opportunities = data.opportunities.filter((o) => o.accountId === account.id);
      if (orders.length === 0) {
        expect(plan.summary.orderCount).toBe(0);
        expect(plan.summary.lifetimeRevenue).toBe(0);
        expect(plan.revenueByQuarter).toEqual([]);
        expect(plan.rollingStatistics?.orderValue).toBeNull();
        expect(plan.caseTrends.total).toBe(cases.length);
      } else {
        const expected = expectedFigures(account);
        expect(plan.summary, account.id).toEqual(expected.summary);
        expect(plan.productMix, account.id).toEqual(expected.productMix);
        expect(plan.rollingStatistics, account.id).toEqual(expected.rollingStatistics);
      }
      expect(plan.recordsRead).toBe(orders.length + opportunities.length + cases.length);
    }
  }, 60_000);

  it('judges as of a past date, ignoring what came after it', async () => {
    // The day after the account's middle order: about half of its history lies after it.
    const dates = data.orders
      .filter((o) => o.accountId === busiest.id)
      .map((o) => o.orderDate.slice(0, 10))
      .sort();
    const middle = dates[Math.floor(dates.length / 2)]!;
    const asOf = new Date(Date.parse(middle) + DAY_MS).toISOString().slice(0, 10);
    const expected = expectedFigures(busiest, Date.parse(asOf));
    expect(expected.counts.orders).toBeGreaterThan(1);
    expect(expected.counts.orders).toBeLessThan(dates.length);
    const plan = await run(busiest.id, harness(), tool, asOf);
    expect(plan.asOf).toBe(`${asOf}T00:00:00.000Z`);
    expect(plan.summary).toEqual(expected.summary);
    expect(plan.revenueByQuarter).toEqual(expected.revenueByQuarter);
    expect(plan.pipelineByStage).toEqual(expected.pipelineByStage);
    expect(plan.caseTrends).toEqual(expected.caseTrends);
    expect(plan.rollingStatistics).toEqual(expected.rollingStatistics);
    expect(plan.recordsRead).toBe(expected.counts.orders + expected.counts.opportunities + expected.counts.cases);
  });

  it('reports progress after every page, strictly increasing, ending with progress == total', async () => {
    const h = harness();
    const plan = await run(busiest.id, h);
    const progress = h.progress.map((p) => p.progress);
    expect(progress).toEqual(progress.map((_, i) => i + 1));
    expect(h.progress).toHaveLength(plan.pagesRead + 1);
    for (const update of h.progress) expect(update.total).toBeGreaterThanOrEqual(update.progress);
    const last = h.progress.at(-1)!;
    expect(last.progress).toBe(last.total);
    expect(last.message).toContain(`${plan.recordsRead} records in ${plan.pagesRead} pages`);
    // With counts up front the total is known from the first page on (the embedded server fills pages).
    expect(new Set(h.progress.map((p) => p.total))).toEqual(new Set([plan.pagesRead + 1]));
  });

  it('stops on abort between pages with the signal’s reason and reads no further page', async () => {
    const h = harness();
    h.context.progress = async (update) => {
      h.progress.push(update);
      if (update.progress === 2) h.controller.abort(new Error('cancelled by test'));
    };
    await expect(run(busiest.id, h)).rejects.toThrow('cancelled by test');
    expect(h.progress.map((p) => p.progress)).toEqual([1, 2]);

    const before = harness();
    before.controller.abort(new Error('cancelled before start'));
    await expect(run(busiest.id, before)).rejects.toThrow(/cancelled before start|abort/i);
    expect(before.progress).toEqual([]);
  });

  it('reads more pages for more data, and works without the rolling analysis', async () => {
    const small = data.accounts.find((a) => (ordersByAccount.get(a.id)?.length ?? 0) === 1)!;
    const [few, many] = [await run(small.id), await run(busiest.id)];
    expect(many.pagesRead).toBeGreaterThan(few.pagesRead);
    const plain = await run(busiest.id, harness(), buildBuildAccountPlanTool({ pageSize: PAGE_SIZE, analysis: false }));
    expect(plain.rollingStatistics).toBeNull();
    expect(plain.summary).toEqual(many.summary);
  });

  it('derives risks and opportunities from the figures', async () => {
    // A crafted account: revenue falling away, an unresolved critical case, mostly lost deals, one
    // deal in negotiation and one open deal past its expected close date.
    const customer: Customer = { ...data.customers[0]!, id: 'cus-999998', name: 'Rules Test Ltd' };
    const account: Account = { ...data.accounts[0]!, id: 'acc-999998-1', customerId: customer.id, tier: 'bronze' };
    const line = (amount: number) => ({
      productId: 'prd-0001',
      productName: 'Insight Dashboards',
      category: 'analytics',
      quantity: 1,
      unitPrice: amount,
      amount,
    });
    const order = (n: number, day: string, amount: number): Order => ({
      id: `ord-999998-00${n}`,
      customerId: customer.id,
      accountId: account.id,
      orderDate: `${day}T10:00:00.000Z`,
      region: customer.region,
      segment: customer.segment,
      lines: [line(amount)],
      total: amount,
    });
    const orders = [
      order(1, '2024-09-01', 50_000),
      order(2, '2024-12-01', 50_000),
      order(3, '2025-03-01', 50_000),
      order(4, '2025-09-01', 10_000),
    ];
    const opp = (n: number, stage: Opportunity['stage'], closeDate: string): Opportunity => ({
      ...data.opportunities[0]!,
      id: `opp-999998-0${n}`,
      customerId: customer.id,
      accountId: account.id,
      stage,
      amount: 1000 * n,
      closeDate,
    });
    const opportunities = [
      opp(1, 'closed_lost', '2025-01-01'),
      opp(2, 'closed_lost', '2025-02-01'),
      opp(3, 'closed_lost', '2025-03-01'),
      opp(4, 'closed_won', '2025-04-01'),
      opp(5, 'negotiation', '2026-08-01'),
      opp(6, 'proposal', '2026-05-01'),
    ];
    const supportCase: SupportCase = {
      id: 'cas-999998-01',
      customerId: customer.id,
      subject: 'Outage',
      priority: 'critical',
      status: 'open',
      openedAt: '2026-06-01T08:00:00.000Z',
    };
    await store.container('customers').items.upsert(customer);
    await store.container('accounts').items.upsert(account);
    for (const o of orders) await store.container('orders').items.upsert(o);
    for (const o of opportunities) await store.container('opportunities').items.upsert(o);
    await store.container('cases').items.upsert(supportCase);

    const plan = await run(account.id);
    expect(plan.summary.trailing12MonthRevenue).toBe(10_000);
    expect(plan.summary.previous12MonthRevenue).toBe(150_000);
    expect(plan.risks.map((r) => r.code).sort()).toEqual(
      ['below_peak', 'low_win_rate', 'open_escalations', 'order_overdue', 'revenue_decline', 'stalled_pipeline'].sort(),
    );
    // Gaps of 91, 90 and 184 days (mean 121.67, sample sd 53.98); 302 days since the last order.
    expect(plan.risks.find((r) => r.code === 'order_overdue')?.message).toBe(
      '302 days since the latest order, against a usual gap of 121.67 ± 53.98 days.',
    );
    expect(plan.risks[0]).toMatchObject({ severity: 'high' });
    expect(plan.risks.find((r) => r.code === 'revenue_decline')?.message).toContain('93.33 % below');
    expect(plan.opportunities.map((o) => o.code)).toEqual(['close_negotiations', 'cross_sell', 'volume_agreement']);
    expect(plan.opportunities.find((o) => o.code === 'cross_sell')?.message).toBe(
      'Never bought from security, infrastructure, collaboration, services.',
    );

    // A case closed after as_of was unresolved as of then.
    await store.container('cases').items.upsert({
      ...supportCase,
      id: 'cas-999998-02',
      priority: 'high',
      status: 'closed',
      openedAt: '2025-01-10T08:00:00.000Z',
      closedAt: '2025-02-10T08:00:00.000Z',
    });
    const then = await run(account.id, harness(), tool, '2025-01-20');
    expect(then.caseTrends).toMatchObject({ total: 1, averageResolutionDays: null });
    expect(then.caseTrends.openByPriority).toEqual({ low: 0, medium: 0, high: 1, critical: 0 });
    expect(then.summary.orderCount).toBe(2);
    const later = await run(account.id);
    expect(later.caseTrends).toMatchObject({ total: 2, averageResolutionDays: 31 });
    expect(later.caseTrends.openByPriority).toEqual({ low: 0, medium: 0, high: 0, critical: 1 });
  });

  it('fails with a tool error for an unknown account', async () => {
    await expect(run('acc-999997-1')).rejects.toThrow(ToolError);
    await expect(run(`${data.accounts[0]!.id.slice(0, 11)}9`)).rejects.toThrow(/No account with id/);
  });

  it('declares its permission, timeout and self-documenting schemas', () => {
    expect(buildAccountPlanTool.name).toBe('build_account_plan');
    expect(buildAccountPlanTool.requiredPermissions).toEqual(['Accounts.Read']);
    expect(buildAccountPlanTool.timeoutMs).toBe(600_000);
    expect(tool.inputSchema.safeParse({ account_id: 'cus-000001' }).success).toBe(false);
    const input = z.toJSONSchema(tool.inputSchema, { io: 'input' }) as {
      properties: Record<string, { description?: string }>;
    };
    for (const [name, property] of Object.entries(input.properties)) expect(property.description, name).toBeTruthy();
    const output = z.toJSONSchema(tool.outputSchema) as { properties: Record<string, { description?: string }> };
    for (const [name, property] of Object.entries(output.properties)) expect(property.description, name).toBeTruthy();
  });
});
