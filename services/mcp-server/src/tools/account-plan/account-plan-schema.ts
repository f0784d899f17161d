import { accountSchema, customerSchema, opportunityStages, SAMPLE_DATA_REFERENCE_DATE } from '@mcp-broker/sample-data';
import { z } from 'zod';

// What `build_account_plan` takes and returns; the descriptions end up in `tools/list`.

/** Smoothing factor of the order-value EWMA: the weight of the newest order. */
export const EWMA_ALPHA = 0.3;

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
