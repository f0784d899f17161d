import {
  accountSchema,
  casePriorities,
  customerSchema,
  type Opportunity,
  type Order,
  opportunityStages,
  productCategories,
  SAMPLE_DATA_REFERENCE_DATE,
  type SupportCase,
} from '@mcp-broker/sample-data';
import type { ContainerName } from '@mcp-broker/store';
import { z } from 'zod';
import { defineTool, type ToolContext, ToolError } from './tool-definition.ts';

const DAY = 86_400_000;
const YEAR = 365 * DAY;
/** Stage probabilities for the weighted pipeline. */
const STAGE_PROBABILITY: Record<Opportunity['stage'], number> = {
  prospecting: 0.1,
  qualification: 0.2,
  proposal: 0.5,
  negotiation: 0.75,
  closed_won: 0,
  closed_lost: 0,
};
/** Smoothing factor of the order-value EWMA: the weight of the newest order. */
const EWMA_ALPHA = 0.3;

export const buildAccountPlanInput = z.object({
  account_id: z
    .string()
    .regex(/^acc-\d{6}-\d+$/, 'account_id must be "acc-", six digits, "-" and a number, e.g. acc-000042-2')
    .describe('Account id: "acc-", the customer number (six digits), "-" and the account number, e.g. acc-000042-2.'),
  as_of: z
    .union([z.iso.date(), z.iso.datetime()])
    .optional()
    .describe(
      `The instant the plan is judged from, as YYYY-MM-DD or an ISO 8601 UTC timestamp. Default ${SAMPLE_DATA_REFERENCE_DATE}, ` +
        'the sample data’s reference date (the data is frozen there; the wall clock would make every account look ' +
        'lapsed). Orders, opportunities and cases dated at or after it are ignored; a case closed after it counts as unresolved.',
    ),
});

const money = (what: string) => z.number().describe(`${what} in USD.`);
const quarter = z.string().describe('Calendar quarter, e.g. 2025-Q3 (UTC).');
const finding = z.object({
  code: z.string().describe('Stable rule code, e.g. revenue_decline.'),
  severity: z.enum(['high', 'medium', 'low']).describe('How much attention it needs.'),
  message: z.string().describe('What the rule found, with the figures.'),
});
const runningStats = z.object({
  mean: z.number().describe('Mean (2 decimals).'),
  stdDev: z.number().describe('Sample standard deviation (2 decimals); 0 with one observation.'),
  min: z.number().describe('Smallest observation.'),
  max: z.number().describe('Largest observation.'),
  observations: z.number().int().describe('Number of observations.'),
});

export const buildAccountPlanOutput = z.object({
  asOf: z.iso
    .datetime()
    .describe('The instant the plan was judged from: trailing periods and recency rules end there.'),
  account: accountSchema.describe('The account.'),
  customer: customerSchema.describe('The customer that owns the account.'),
  summary: z
    .object({
      lifetimeRevenue: money('Sum of all of the account’s order totals'),
      orderCount: z.number().int().describe('Orders the account ever placed.'),
      averageOrderValue: money('lifetimeRevenue / orderCount (0 without orders)'),
      firstOrderDate: z.string().nullable().describe('Day of the first order (YYYY-MM-DD); null without orders.'),
      lastOrderDate: z.string().nullable().describe('Day of the latest order; null without orders.'),
      trailing12MonthRevenue: money('Revenue in the 365 days up to asOf'),
      previous12MonthRevenue: money('Revenue in the 365 days before those'),
      revenueGrowthPct: z
        .number()
        .nullable()
        .describe('Trailing against previous 12 months in percent (2 decimals); null when the previous is 0.'),
      openPipeline: money('Sum of open opportunity amounts'),
      weightedPipeline: money('Open amounts × stage probability (10/20/50/75 %)'),
      winRatePct: z
        .number()
        .nullable()
        .describe('closed_won / (closed_won + closed_lost) in percent; null without closed opportunities.'),
      openCases: z.number().int().describe('Support cases of the customer that are open or pending.'),
    })
    .describe('Headline figures.'),
  revenueByQuarter: z
    .array(
      z.object({
        quarter,
        revenue: money('Revenue'),
        orderCount: z.number().int().describe('Orders placed in the quarter.'),
      }),
    )
    .describe('Every quarter from the first order’s to asOf’s (zeros included), oldest first; empty without orders.'),
  productMix: z
    .array(
      z.object({
        productId: z.string().describe('Product id.'),
        productName: z.string().describe('Product name at order time.'),
        category: z.string().describe('Product category.'),
        revenue: money('Revenue from the product’s lines'),
        quantity: z.number().int().describe('Units ordered.'),
        orderCount: z.number().int().describe('Orders containing the product.'),
        sharePct: z.number().describe('Share of lifetime revenue in percent (2 decimals).'),
      }),
    )
    .describe('Revenue by product, highest first.'),
  categoryMix: z
    .array(
      z.object({
        category: z.string().describe('Product category.'),
        revenue: money('Revenue'),
        sharePct: z.number().describe('Share of lifetime revenue in percent (2 decimals).'),
      }),
    )
    .describe('Revenue by product category, highest first; categories never bought are left out.'),
  pipelineByStage: z
    .array(
      z.object({
        stage: z.enum(opportunityStages).describe('Sales stage.'),
        count: z.number().int().describe('Opportunities in the stage.'),
        amount: money('Sum of their amounts'),
      }),
    )
    .describe('Every stage in funnel order, zeros included.'),
  caseTrends: z
    .object({
      total: z.number().int().describe('Cases ever opened by the customer.'),
      byQuarter: z
        .array(
          z.object({
            quarter,
            opened: z.number().int().describe('Cases opened in the quarter.'),
            closed: z.number().int().describe('Cases closed in the quarter.'),
          }),
        )
        .describe('Every quarter from the first case’s to asOf’s, oldest first; empty without cases.'),
      openByPriority: z
        .object({
          low: z.number().int().describe('Open or pending low-priority cases.'),
          medium: z.number().int().describe('Open or pending medium-priority cases.'),
          high: z.number().int().describe('Open or pending high-priority cases.'),
          critical: z.number().int().describe('Open or pending critical cases.'),
        })
        .describe('Unresolved cases by priority.'),
      averageResolutionDays: z
        .number()
        .nullable()
        .describe('Mean days from opened to closed over closed cases (2 decimals); null without closed cases.'),
    })
    .describe('Support cases of the customer (cases belong to the customer, not to one account).'),
  rollingStatistics: z
    .object({
      orderValue: runningStats
        .extend({ ewma: z.number().describe(`EWMA of order value, α = ${EWMA_ALPHA}, oldest first.`) })
        .nullable()
        .describe('Order values; null without orders.'),
      daysBetweenOrders: runningStats
        .nullable()
        .describe('Gaps between consecutive orders in days; null with fewer than 2 orders.'),
      daysSinceLastOrder: z
        .number()
        .nullable()
        .describe('Days from the latest order to asOf (2 decimals); null without orders.'),
      peakTrailing12MonthRevenue: z
        .object({
          revenue: money('Highest 365-day revenue ending on an order'),
          at: z.string().describe('Day of that order.'),
        })
        .nullable()
        .describe('Best 365-day window over the whole history; null without orders.'),
      unitPriceByProduct: z
        .array(runningStats.extend({ productId: z.string().describe('Product id.') }))
        .describe('Net unit price statistics per product, by product id.'),
    })
    .nullable()
    .describe('Per-page analysis over the order lines in date order; null when the tool runs without it.'),
  risks: z.array(finding).describe('Risks found by the rules, most severe first.'),
  opportunities: z.array(finding).describe('Growth opportunities found by the rules, most valuable first.'),
  pagesRead: z.number().int().describe('Query pages read (orders, opportunities, cases).'),
  recordsRead: z.number().int().describe('Records read in those pages.'),
});
export type AccountPlan = z.infer<typeof buildAccountPlanOutput>;

/** Options for building the tool; the defaults suit production. */
export interface BuildAccountPlanOptions {
  /** Records per query page (`maxItemCount`); progress is reported after each. Default 25. */
  pageSize?: number;
  /** Run the per-page rolling analysis over order lines. Default true. */
  analysis?: boolean;
}

type OrderRow = Pick<Order, 'id' | 'orderDate' | 'total' | 'lines'>;
type OpportunityRow = Pick<Opportunity, 'id' | 'stage' | 'amount' | 'closeDate'>;
type CaseRow = Pick<SupportCase, 'id' | 'priority' | 'status' | 'openedAt' | 'closedAt'>;

/**
 * Builds `build_account_plan`: an account's whole history, read in small pages from the customer's
 * partition (orders and opportunities of the account, cases of the customer), aggregated as pages
 * arrive, with MCP progress after every page and the abort signal checked between pages. Its cost
 * grows with the account's data: every record is read once and every order line analysed once.
 */
export function buildBuildAccountPlanTool(options: BuildAccountPlanOptions = {}) {
  const pageSize = options.pageSize ?? 25;
  const analysis = options.analysis ?? true;
  if (!Number.isInteger(pageSize) || pageSize < 1)
    throw new RangeError(`pageSize must be a positive integer, got ${pageSize}`);
  return defineTool({
    name: 'build_account_plan',
    title: 'Build account plan',
    description:
      'Builds an account plan from the account’s full history: revenue by quarter, product and category mix, ' +
      'pipeline by stage, support case trends, rolling order statistics, and the risks and growth opportunities ' +
      'that rules derive from them. Long-running for large accounts; reports progress page by page.',
    inputSchema: buildAccountPlanInput,
    outputSchema: buildAccountPlanOutput,
    requiredPermissions: ['Accounts.Read'],
    timeoutMs: 10 * 60_000,
    async handler({ account_id: accountId, as_of }, context) {
      const { signal, store } = context;
      const asOf = Date.parse(as_of ?? SAMPLE_DATA_REFERENCE_DATE);
      if (Number.isNaN(asOf)) throw new ToolError(`as_of "${as_of}" is not an ISO 8601 date or timestamp.`);
      const asOfIso = new Date(asOf).toISOString();
      // Account ids embed the customer number, and accounts partition on customerId: a point read.
      const customerId = `cus-${accountId.slice(4, 10)}`;
      const [accountRead, customerRead] = await Promise.all([
        store.container('accounts').item(accountId, customerId).read({ abortSignal: signal }),
        store.container('customers').item(customerId, customerId).read({ abortSignal: signal }),
      ]);
      if (!accountRead.resource) {
        throw new ToolError(`No account with id "${accountId}"; account ids look like acc-000042-1.`);
      }
      const account = accountSchema.parse(accountRead.resource);
      if (!customerRead.resource)
        throw new ToolError(`Account "${accountId}" names customer "${customerId}", which does not exist.`);
      const customer = customerSchema.parse(customerRead.resource);

      const byAccount = 'c.customerId = @customerId AND c.accountId = @accountId';
      const parameters = [
        { name: '@customerId', value: customerId },
        { name: '@accountId', value: accountId },
        // Timestamps are ISO 8601 UTC strings, so they compare as strings.
        { name: '@asOf', value: asOfIso },
      ];
      const reads: PagedRead[] = [
        {
          container: 'orders',
          label: 'orders',
          query: `SELECT c.id, c.orderDate, c.total, c.lines FROM c WHERE ${byAccount} AND c.orderDate < @asOf ORDER BY c.orderDate ASC`,
          countQuery: `SELECT VALUE COUNT(1) FROM c WHERE ${byAccount} AND c.orderDate < @asOf`,
          parameters,
        },
        {
          container: 'opportunities',
          label: 'opportunities',
          query: `SELECT c.id, c.stage, c.amount, c.closeDate FROM c WHERE ${byAccount} AND c.createdAt < @asOf`,
          countQuery: `SELECT VALUE COUNT(1) FROM c WHERE ${byAccount} AND c.createdAt < @asOf`,
          parameters,
        },
        {
          container: 'cases',
          label: 'cases',
          query:
            'SELECT c.id, c.priority, c.status, c.openedAt, c.closedAt FROM c ' +
            'WHERE c.customerId = @customerId AND c.openedAt < @asOf ORDER BY c.openedAt ASC',
          countQuery: 'SELECT VALUE COUNT(1) FROM c WHERE c.customerId = @customerId AND c.openedAt < @asOf',
          parameters: [
            { name: '@customerId', value: customerId },
            { name: '@asOf', value: asOfIso },
          ],
        },
      ];

      const plan = new AccountPlanAggregator(asOf, analysis);
      const reader = new PagedReader(context, customerId, pageSize);
      await reader.count(reads);
      await reader.read(reads[0]!, (rows) => plan.addOrders(rows as OrderRow[]));
      await reader.read(reads[1]!, (rows) => plan.addOpportunities(rows as OpportunityRow[]));
      await reader.read(reads[2]!, (rows) => plan.addCases(rows as CaseRow[]));

      const result = plan.result(account, customer, reader.pagesRead, reader.recordsRead);
      // The last unit of progress is the aggregation itself, so the final report has progress == total.
      await context.progress({
        progress: reader.pagesRead + 1,
        total: reader.pagesRead + 1,
        message: `Account plan ready: ${reader.recordsRead} records in ${reader.pagesRead} pages`,
      });
      return result;
    },
  });
}

/** `build_account_plan` with production defaults. */
export const buildAccountPlanTool = buildBuildAccountPlanTool();

interface PagedRead {
  container: ContainerName;
  label: string;
  query: string;
  countQuery: string;
  parameters: { name: string; value: string }[];
}

/**
 * Reads queries of one partition page by page: counts first (so progress has a total), then each
 * query with `maxItemCount`, handing every page to its consumer and reporting progress after it.
 * The signal is checked before and after every page; an abort throws its reason.
 */
class PagedReader {
  pagesRead = 0;
  recordsRead = 0;
  readonly #context: ToolContext;
  readonly #partitionKey: string;
  readonly #pageSize: number;
  /** Estimated pages still to read, per query label. */
  readonly #remaining = new Map<string, number>();

  constructor(context: ToolContext, partitionKey: string, pageSize: number) {
    this.#context = context;
    this.#partitionKey = partitionKey;
    this.#pageSize = pageSize;
  }

  async count(reads: PagedRead[]): Promise<void> {
    const { store, signal } = this.#context;
    const counts = await Promise.all(
      reads.map(async (read) => {
        const { resources } = await store
          .container(read.container)
          .items.query<number>(
            { query: read.countQuery, parameters: read.parameters },
            { partitionKey: this.#partitionKey, abortSignal: signal },
          )
          .fetchAll();
        return resources[0] ?? 0;
      }),
    );
    // An empty result is still one (empty) page.
    for (const [i, read] of reads.entries()) {
      this.#remaining.set(read.label, Math.max(1, Math.ceil(counts[i]! / this.#pageSize)));
    }
  }

  async read(read: PagedRead, consume: (rows: unknown[]) => void): Promise<void> {
    const { store, signal } = this.#context;
    const iterator = store
      .container(read.container)
      .items.query(
        { query: read.query, parameters: read.parameters },
        { partitionKey: this.#partitionKey, maxItemCount: this.#pageSize, abortSignal: signal },
      );
    let rows = 0;
    while (iterator.hasMoreResults()) {
      signal.throwIfAborted();
      const { resources } = await iterator.fetchNext();
      signal.throwIfAborted();
      consume(resources);
      rows += resources.length;
      this.pagesRead += 1;
      this.recordsRead += resources.length;
      // Real Cosmos DB may return fewer rows than maxItemCount, so the estimate only ever grows.
      const left = Math.max(0, (this.#remaining.get(read.label) ?? 1) - 1);
      this.#remaining.set(read.label, iterator.hasMoreResults() ? Math.max(1, left) : 0);
      const remaining = [...this.#remaining.values()].reduce((sum, n) => sum + n, 0);
      await this.#context.progress({
        progress: this.pagesRead,
        // + 1 for the final aggregation step.
        total: this.pagesRead + remaining + 1,
        message: `Read ${rows} ${read.label} (${this.recordsRead} records, ${this.pagesRead} pages)`,
      });
    }
  }
}

/** Welford's running mean and variance, with min and max. */
class RunningStats {
  n = 0;
  mean = 0;
  #m2 = 0;
  min = Number.POSITIVE_INFINITY;
  max = Number.NEGATIVE_INFINITY;

  push(x: number): void {
    this.n += 1;
    const delta = x - this.mean;
    this.mean += delta / this.n;
    this.#m2 += delta * (x - this.mean);
    if (x < this.min) this.min = x;
    if (x > this.max) this.max = x;
  }

  summary() {
    return {
      mean: round2(this.mean),
      stdDev: round2(this.n > 1 ? Math.sqrt(this.#m2 / (this.n - 1)) : 0),
      min: round2(this.min),
      max: round2(this.max),
      observations: this.n,
    };
  }
}

/** Everything the plan needs, accumulated page by page; nothing keeps whole pages around. */
class AccountPlanAggregator {
  readonly #asOf: number;
  readonly #analysis: boolean;
  // Orders (cents throughout, so sums are exact).
  #orderCount = 0;
  #revenueCents = 0;
  #firstOrder: string | undefined;
  #lastOrder: string | undefined;
  #trailingCents = 0;
  #previousCents = 0;
  readonly #quarters = new Map<string, { cents: number; orders: number }>();
  readonly #products = new Map<
    string,
    { name: string; category: string; cents: number; quantity: number; orders: number }
  >();
  // Rolling analysis.
  readonly #orderValue = new RunningStats();
  #ewma: number | undefined;
  readonly #gaps = new RunningStats();
  #previousOrderAt: number | undefined;
  readonly #window: { at: number; cents: number }[] = [];
  #windowStart = 0;
  #windowCents = 0;
  #peak: { cents: number; at: string } | undefined;
  readonly #unitPrices = new Map<string, RunningStats>();
  // Opportunities.
  readonly #stages = new Map<Opportunity['stage'], { count: number; cents: number }>(
    opportunityStages.map((s) => [s, { count: 0, cents: 0 }]),
  );
  #overdueOpen = 0;
  // Cases.
  #caseCount = 0;
  readonly #caseQuarters = new Map<string, { opened: number; closed: number }>();
  readonly #openByPriority = Object.fromEntries(casePriorities.map((p) => [p, 0])) as Record<
    SupportCase['priority'],
    number
  >;
  #firstCase: string | undefined;
  readonly #resolution = new RunningStats();
  #recentCases = 0;
  #earlierCases = 0;

  constructor(asOf: number, analysis: boolean) {
    this.#asOf = asOf;
    this.#analysis = analysis;
  }

  addOrders(orders: OrderRow[]): void {
    for (const order of orders) {
      const at = Date.parse(order.orderDate);
      const lines = order.lines ?? [];
      const cents = lines.reduce((sum, line) => sum + toCents(line.amount), 0);
      this.#orderCount += 1;
      this.#revenueCents += cents;
      const day = order.orderDate.slice(0, 10);
      if (!this.#firstOrder || day < this.#firstOrder) this.#firstOrder = day;
      if (!this.#lastOrder || day > this.#lastOrder) this.#lastOrder = day;
      // The query only returns orders before asOf.
      if (at > this.#asOf - YEAR) this.#trailingCents += cents;
      else if (at > this.#asOf - 2 * YEAR) this.#previousCents += cents;
      const q = this.#quarters.get(quarterOf(order.orderDate)) ?? { cents: 0, orders: 0 };
      q.cents += cents;
      q.orders += 1;
      this.#quarters.set(quarterOf(order.orderDate), q);
      const seen = new Set<string>();
      for (const line of lines) {
        const p = this.#products.get(line.productId) ?? {
          name: line.productName,
          category: line.category,
          cents: 0,
          quantity: 0,
          orders: 0,
        };
        p.cents += toCents(line.amount);
        p.quantity += line.quantity;
        if (!seen.has(line.productId)) p.orders += 1;
        seen.add(line.productId);
        this.#products.set(line.productId, p);
      }
      if (this.#analysis) this.#analyse(order, at, cents);
    }
  }

  /**
   * The per-page analysis: rolling statistics over orders in date order (the orders query sorts
   * by orderDate). A sliding 365-day window gives the best trailing-12-month revenue ever reached;
   * Welford's algorithm gives order value, gaps between orders and net unit price per product.
   */
  #analyse(order: OrderRow, at: number, cents: number): void {
    this.#orderValue.push(cents / 100);
    this.#ewma = this.#ewma === undefined ? cents / 100 : EWMA_ALPHA * (cents / 100) + (1 - EWMA_ALPHA) * this.#ewma;
    if (this.#previousOrderAt !== undefined) this.#gaps.push((at - this.#previousOrderAt) / DAY);
    this.#previousOrderAt = at;
    this.#window.push({ at, cents });
    this.#windowCents += cents;
    while (this.#window[this.#windowStart]!.at <= at - YEAR) {
      this.#windowCents -= this.#window[this.#windowStart]!.cents;
      this.#windowStart += 1;
    }
    // Drop what has left the window now and then, so memory stays bounded by one year of orders.
    if (this.#windowStart > 1024) {
      this.#window.splice(0, this.#windowStart);
      this.#windowStart = 0;
    }
    if (!this.#peak || this.#windowCents > this.#peak.cents) {
      this.#peak = { cents: this.#windowCents, at: order.orderDate.slice(0, 10) };
    }
    for (const line of order.lines ?? []) {
      const stats = this.#unitPrices.get(line.productId) ?? new RunningStats();
      stats.push(line.unitPrice);
      this.#unitPrices.set(line.productId, stats);
    }
  }

  addOpportunities(opportunities: OpportunityRow[]): void {
    const today = new Date(this.#asOf).toISOString().slice(0, 10);
    for (const o of opportunities) {
      const stage = this.#stages.get(o.stage);
      if (!stage) continue;
      stage.count += 1;
      stage.cents += toCents(o.amount);
      if (STAGE_PROBABILITY[o.stage] > 0 && o.closeDate < today) this.#overdueOpen += 1;
    }
  }

  addCases(cases: CaseRow[]): void {
    for (const c of cases) {
      this.#caseCount += 1;
      const opened = quarterOf(c.openedAt);
      if (!this.#firstCase || c.openedAt < this.#firstCase) this.#firstCase = c.openedAt;
      const q = this.#caseQuarters.get(opened) ?? { opened: 0, closed: 0 };
      q.opened += 1;
      this.#caseQuarters.set(opened, q);
      // A case closed after asOf was still unresolved then.
      if (c.status === 'closed' && c.closedAt && Date.parse(c.closedAt) < this.#asOf) {
        const closed = this.#caseQuarters.get(quarterOf(c.closedAt)) ?? { opened: 0, closed: 0 };
        closed.closed += 1;
        this.#caseQuarters.set(quarterOf(c.closedAt), closed);
        this.#resolution.push((Date.parse(c.closedAt) - Date.parse(c.openedAt)) / DAY);
      } else {
        this.#openByPriority[c.priority] += 1;
      }
      const openedAt = Date.parse(c.openedAt);
      if (openedAt > this.#asOf - 182 * DAY) this.#recentCases += 1;
      else if (openedAt > this.#asOf - 364 * DAY) this.#earlierCases += 1;
    }
  }

  result(
    account: AccountPlan['account'],
    customer: AccountPlan['customer'],
    pagesRead: number,
    recordsRead: number,
  ): AccountPlan {
    const asOfIso = new Date(this.#asOf).toISOString();
    const asOfQuarter = quarterOf(asOfIso);
    const revenue = this.#revenueCents;
    const pipelineByStage = opportunityStages.map((stage) => {
      const s = this.#stages.get(stage)!;
      return { stage, count: s.count, amount: s.cents / 100 };
    });
    const openStages = opportunityStages.filter((s) => STAGE_PROBABILITY[s] > 0);
    const openPipelineCents = openStages.reduce((sum, s) => sum + this.#stages.get(s)!.cents, 0);
    const weightedCents = openStages.reduce((sum, s) => sum + this.#stages.get(s)!.cents * STAGE_PROBABILITY[s], 0);
    const won = this.#stages.get('closed_won')!.count;
    const lost = this.#stages.get('closed_lost')!.count;
    const productMix = [...this.#products]
      .sort(([ka, a], [kb, b]) => b.cents - a.cents || ka.localeCompare(kb))
      .map(([productId, p]) => ({
        productId,
        productName: p.name,
        category: p.category,
        revenue: p.cents / 100,
        quantity: p.quantity,
        orderCount: p.orders,
        sharePct: percent(p.cents, revenue) ?? 0,
      }));
    const categories = new Map<string, number>();
    for (const p of this.#products.values()) categories.set(p.category, (categories.get(p.category) ?? 0) + p.cents);
    const categoryMix = [...categories]
      .sort(([ka, a], [kb, b]) => b - a || ka.localeCompare(kb))
      .map(([category, cents]) => ({ category, revenue: cents / 100, sharePct: percent(cents, revenue) ?? 0 }));

    const daysSinceLastOrder =
      this.#previousOrderAt === undefined ? null : round2((this.#asOf - this.#previousOrderAt) / DAY);
    const rollingStatistics = this.#analysis
      ? {
          orderValue:
            this.#orderValue.n === 0 ? null : { ...this.#orderValue.summary(), ewma: round2(this.#ewma ?? 0) },
          daysBetweenOrders: this.#gaps.n === 0 ? null : this.#gaps.summary(),
          daysSinceLastOrder,
          peakTrailing12MonthRevenue: this.#peak ? { revenue: this.#peak.cents / 100, at: this.#peak.at } : null,
          unitPriceByProduct: [...this.#unitPrices]
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([productId, stats]) => ({ productId, ...stats.summary() })),
        }
      : null;

    const summary: AccountPlan['summary'] = {
      lifetimeRevenue: revenue / 100,
      orderCount: this.#orderCount,
      averageOrderValue: this.#orderCount === 0 ? 0 : round2(revenue / this.#orderCount / 100),
      firstOrderDate: this.#firstOrder ?? null,
      lastOrderDate: this.#lastOrder ?? null,
      trailing12MonthRevenue: this.#trailingCents / 100,
      previous12MonthRevenue: this.#previousCents / 100,
      revenueGrowthPct: percentChange(this.#trailingCents, this.#previousCents),
      openPipeline: openPipelineCents / 100,
      weightedPipeline: Math.round(weightedCents) / 100,
      winRatePct: won + lost === 0 ? null : round2((won / (won + lost)) * 100),
      openCases: Object.values(this.#openByPriority).reduce((sum, n) => sum + n, 0),
    };
    const plan: AccountPlan = {
      asOf: asOfIso,
      account,
      customer,
      summary,
      revenueByQuarter: this.#firstOrder
        ? quartersBetween(quarterOf(this.#firstOrder), maxQuarter(quarterOf(this.#lastOrder!), asOfQuarter)).map(
            (q) => {
              const v = this.#quarters.get(q);
              return { quarter: q, revenue: (v?.cents ?? 0) / 100, orderCount: v?.orders ?? 0 };
            },
          )
        : [],
      productMix,
      categoryMix,
      pipelineByStage,
      caseTrends: {
        total: this.#caseCount,
        byQuarter: this.#firstCase
          ? quartersBetween(quarterOf(this.#firstCase), maxQuarter(lastKey(this.#caseQuarters), asOfQuarter)).map(
              (q) => ({
                quarter: q,
                opened: this.#caseQuarters.get(q)?.opened ?? 0,
                closed: this.#caseQuarters.get(q)?.closed ?? 0,
              }),
            )
          : [],
        openByPriority: { ...this.#openByPriority },
        averageResolutionDays: this.#resolution.n === 0 ? null : round2(this.#resolution.mean),
      },
      rollingStatistics,
      risks: [],
      opportunities: [],
      pagesRead,
      recordsRead,
    };
    plan.risks = this.#risks(plan);
    plan.opportunities = this.#opportunities(plan);
    return plan;
  }

  /** The risk rules; each names its figures. */
  #risks(plan: AccountPlan): AccountPlan['risks'] {
    const { summary } = plan;
    const risks: AccountPlan['risks'] = [];
    const { critical, high } = plan.caseTrends.openByPriority;
    if (critical + high > 0) {
      risks.push({
        code: 'open_escalations',
        severity: critical > 0 ? 'high' : 'medium',
        message: `${critical} critical and ${high} high-priority support cases are unresolved.`,
      });
    }
    if (summary.previous12MonthRevenue > 0 && summary.trailing12MonthRevenue < 0.8 * summary.previous12MonthRevenue) {
      risks.push({
        code: 'revenue_decline',
        severity: summary.trailing12MonthRevenue < 0.5 * summary.previous12MonthRevenue ? 'high' : 'medium',
        message: `Revenue in the last 12 months (${usd(summary.trailing12MonthRevenue)}) is ${-(summary.revenueGrowthPct ?? 0)} % below the 12 months before (${usd(summary.previous12MonthRevenue)}).`,
      });
    }
    if (summary.orderCount > 0 && summary.trailing12MonthRevenue === 0) {
      risks.push({
        code: 'no_recent_orders',
        severity: 'high',
        message: `No orders in the last 12 months; the latest was on ${summary.lastOrderDate}.`,
      });
    }
    const gaps = plan.rollingStatistics?.daysBetweenOrders;
    const since = plan.rollingStatistics?.daysSinceLastOrder;
    if (
      gaps &&
      gaps.observations >= 2 &&
      since !== null &&
      since !== undefined &&
      since > gaps.mean + 2 * gaps.stdDev
    ) {
      risks.push({
        code: 'order_overdue',
        severity: 'medium',
        message: `${Math.round(since)} days since the latest order, against a usual gap of ${gaps.mean} ± ${gaps.stdDev} days.`,
      });
    }
    const peak = plan.rollingStatistics?.peakTrailing12MonthRevenue;
    if (
      peak &&
      peak.revenue > 0 &&
      summary.trailing12MonthRevenue > 0 &&
      summary.trailing12MonthRevenue < 0.5 * peak.revenue
    ) {
      risks.push({
        code: 'below_peak',
        severity: 'low',
        message: `Revenue in the last 12 months is less than half the peak of ${usd(peak.revenue)} (12 months to ${peak.at}).`,
      });
    }
    const closed = plan.pipelineByStage.filter((s) => s.stage === 'closed_won' || s.stage === 'closed_lost');
    const closedCount = closed.reduce((sum, s) => sum + s.count, 0);
    if (summary.winRatePct !== null && closedCount >= 4 && summary.winRatePct < 30) {
      risks.push({
        code: 'low_win_rate',
        severity: 'medium',
        message: `Only ${summary.winRatePct} % of ${closedCount} closed opportunities were won.`,
      });
    }
    if (this.#overdueOpen > 0) {
      risks.push({
        code: 'stalled_pipeline',
        severity: 'low',
        message: `${this.#overdueOpen} open opportunities are past their expected close date.`,
      });
    }
    const top = plan.productMix[0];
    if (top && plan.productMix.length > 1 && top.sharePct > 50) {
      risks.push({
        code: 'product_concentration',
        severity: 'low',
        message: `${top.productName} brings ${top.sharePct} % of the account’s revenue.`,
      });
    }
    if (this.#recentCases >= 3 && this.#recentCases > 1.5 * this.#earlierCases) {
      risks.push({
        code: 'case_volume_rising',
        severity: 'medium',
        message: `${this.#recentCases} cases were opened in the last 6 months against ${this.#earlierCases} in the 6 months before.`,
      });
    }
    return risks.sort((a, b) => SEVERITY[a.severity] - SEVERITY[b.severity]);
  }

  /** The opportunity rules. */
  #opportunities(plan: AccountPlan): AccountPlan['opportunities'] {
    const { summary, account } = plan;
    const found: AccountPlan['opportunities'] = [];
    const negotiation = plan.pipelineByStage.find((s) => s.stage === 'negotiation')!;
    if (negotiation.count > 0) {
      found.push({
        code: 'close_negotiations',
        severity: 'high',
        message: `${negotiation.count} opportunities worth ${usd(negotiation.amount)} are in negotiation.`,
      });
    }
    if (summary.revenueGrowthPct !== null && summary.revenueGrowthPct >= 20) {
      found.push({
        code: 'growth_momentum',
        severity: 'medium',
        message: `Revenue grew ${summary.revenueGrowthPct} % year on year; propose a multi-year agreement.`,
      });
    }
    if (summary.orderCount > 0 && summary.openPipeline < summary.trailing12MonthRevenue) {
      found.push({
        code: 'build_pipeline',
        severity: 'medium',
        message: `Open pipeline (${usd(summary.openPipeline)}) is below the last 12 months’ revenue (${usd(summary.trailing12MonthRevenue)}).`,
      });
    }
    const bought = new Set(plan.categoryMix.map((c) => c.category));
    const missing = productCategories.filter((c) => !bought.has(c));
    if (summary.orderCount > 0 && missing.length > 0) {
      found.push({
        code: 'cross_sell',
        severity: 'low',
        message: `Never bought from ${missing.join(', ')}.`,
      });
    }
    const repeat = plan.productMix.filter((p) => p.orderCount >= 3);
    if (repeat.length > 0) {
      found.push({
        code: 'volume_agreement',
        severity: 'low',
        message: `Ordered repeatedly: ${repeat.map((p) => `${p.productName} (${p.orderCount} orders)`).join(', ')}; offer a volume or subscription agreement.`,
      });
    }
    if ((account.tier === 'silver' || account.tier === 'bronze') && summary.trailing12MonthRevenue >= 100_000) {
      found.push({
        code: 'tier_upgrade',
        severity: 'medium',
        message: `A ${account.tier}-tier account with ${usd(summary.trailing12MonthRevenue)} in the last 12 months; propose a higher tier.`,
      });
    }
    return found.sort((a, b) => SEVERITY[a.severity] - SEVERITY[b.severity]);
  }
}

const SEVERITY = { high: 0, medium: 1, low: 2 } as const;
const usdFormat = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' });
const usd = (n: number) => usdFormat.format(n);

function quarterOf(timestamp: string): string {
  const month = Number(timestamp.slice(5, 7));
  return `${timestamp.slice(0, 4)}-Q${Math.ceil(month / 3)}`;
}

function quartersBetween(first: string, last: string): string[] {
  const index = (q: string) => Number(q.slice(0, 4)) * 4 + Number(q.slice(6)) - 1;
  const out: string[] = [];
  for (let i = index(first); i <= index(last); i += 1) out.push(`${Math.floor(i / 4)}-Q${(i % 4) + 1}`);
  return out;
}

function maxQuarter(a: string, b: string): string {
  return a > b ? a : b;
}

function lastKey(map: Map<string, unknown>): string {
  return [...map.keys()].sort().at(-1)!;
}

function toCents(amount: number): number {
  return Math.round(amount * 100);
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

function percent(part: number, whole: number): number | null {
  return whole === 0 ? null : round2((part / whole) * 100);
}

function percentChange(current: number, previous: number): number | null {
  return previous === 0 ? null : round2(((current - previous) / previous) * 100);
}
