import { type Order, regionSchema } from '@mcp-broker/sample-data';
import { z } from 'zod';
import { forEachPage } from '../data/partition-scan.ts';
import { addDays, addYears, DAY } from './calendar.ts';
import { percentChange, round2, toCents } from './money.ts';
import { defineTool } from './tool-definition.ts';

const MAX_YEARS = 3;
const TOP_PRODUCTS = 5;
const groupings = ['product', 'month', 'segment'] as const;
type Grouping = (typeof groupings)[number];

const isoDay = z.iso.date();

export const analyzeSalesDataInput = z
  .object({
    region: regionSchema
      .optional()
      .describe('Only orders from customers in this region (emea, amer or apac); all regions when omitted.'),
    from: isoDay.describe('First day of the period, inclusive, as YYYY-MM-DD (UTC).'),
    to: isoDay.describe(
      `Last day of the period, inclusive, as YYYY-MM-DD (UTC); less than ${MAX_YEARS} years after from.`,
    ),
    group_by: z
      .enum(groupings)
      .default('month')
      .describe('Break revenue down by product, by calendar month (YYYY-MM) or by customer segment. Default month.'),
  })
  .superRefine(({ from, to }, ctx) => {
    // Malformed dates are already reported on their own fields.
    if (!isoDay.safeParse(from).success || !isoDay.safeParse(to).success) return;
    if (to < from) {
      ctx.addIssue({ code: 'custom', path: ['to'], message: `"to" (${to}) must be on or after "from" (${from})` });
      return;
    }
    const lastAllowed = addDays(addYears(from, MAX_YEARS), -1);
    if (to > lastAllowed) {
      ctx.addIssue({
        code: 'custom',
        path: ['to'],
        message: `"to" (${to}) is more than ${MAX_YEARS} years after "from" (${from}); the latest allowed "to" is ${lastAllowed}`,
      });
    }
  });

const period = z.object({
  from: isoDay.describe('First day, inclusive.'),
  to: isoDay.describe('Last day, inclusive.'),
});
const growth = (what: string) =>
  z.object({
    previous: z.number().describe(`${what} in the previous period.`),
    change: z.number().describe(`${what} in the period minus the previous period.`),
    changePct: z
      .number()
      .nullable()
      .describe('Change as a percentage of the previous period (2 decimals); null when the previous period is 0.'),
  });

export const analyzeSalesDataOutput = z.object({
  period: period.describe('The period analysed.'),
  previousPeriod: period.describe('The same number of days immediately before the period, for growth figures.'),
  region: regionSchema.nullable().describe('Region filter applied; null for all regions.'),
  groupBy: z.enum(groupings).describe('How `groups` is broken down.'),
  totals: z
    .object({
      revenue: z.number().describe('Sum of order line amounts in USD.'),
      orderCount: z.number().int().describe('Orders placed in the period.'),
      averageOrderValue: z.number().describe('revenue / orderCount in USD; 0 without orders.'),
    })
    .describe('Figures for the period.'),
  growth: z
    .object({ revenue: growth('Revenue in USD'), orderCount: growth('Order count') })
    .describe('The period against the previous period.'),
  groups: z
    .array(
      z.object({
        key: z.string().describe('Product id, month (YYYY-MM) or segment.'),
        label: z.string().describe('Product name, month or segment, for display.'),
        revenue: z.number().describe('Revenue in USD (for a product, only its own order lines).'),
        orderCount: z.number().int().describe('Orders in the group (for a product, orders containing it).'),
        averageOrderValue: z.number().describe('revenue / orderCount in USD.'),
      }),
    )
    .describe('Revenue by group_by, highest revenue first; groups without orders are left out.'),
  topProducts: z
    .array(
      z.object({
        productId: z.string().describe('Product id.'),
        productName: z.string().describe('Product name.'),
        revenue: z.number().describe('Revenue from the product’s order lines in USD.'),
        quantity: z.number().int().describe('Units sold.'),
      }),
    )
    .describe(`The ${TOP_PRODUCTS} products with the highest revenue in the period.`),
});

/** Options for building the tool; the defaults suit production. */
export interface AnalyzeSalesDataOptions {
  /** Orders requested per page (`maxItemCount`); progress is reported after each page. Default 500. */
  pageSize?: number;
}

type OrderRow = Pick<Order, 'orderDate' | 'segment' | 'lines'>;
interface Tally {
  label: string;
  cents: number;
  orders: number;
}

/**
 * Builds `analyze_sales_data`: revenue over a date range from the orders container, compared with
 * the previous period of the same length. The embedded Cosmos server has no GROUP BY (and real
 * Cosmos DB only groups within limits), so the tool reads both periods in one paged cross-partition
 * range query on orderDate and aggregates as pages arrive. Money is summed in integer cents (line
 * amounts have 2 decimals), so totals are exact and only averages and percentages are rounded.
 * Segments come from `order.segment`, which the data model copies from the customer onto each order
 * so that no second container has to be read.
 */
export function buildAnalyzeSalesDataTool(options: AnalyzeSalesDataOptions = {}) {
  const pageSize = options.pageSize ?? 500;
  return defineTool({
    name: 'analyze_sales_data',
    title: 'Analyze sales data',
    description:
      'Sales revenue and order count for a date range (optionally one region), growth against the previous ' +
      'period of the same length, revenue grouped by product, month or customer segment, and the top 5 products.',
    inputSchema: analyzeSalesDataInput,
    outputSchema: analyzeSalesDataOutput,
    requiredPermissions: ['Sales.Read'],
    timeoutMs: 30_000,
    async handler({ region, from, to, group_by }, context) {
      const { signal, store } = context;
      // The registry applies the schema default; direct callers may not have parsed their arguments.
      const groupBy: Grouping = group_by ?? 'month';
      const days = (Date.parse(to) - Date.parse(from)) / DAY + 1;
      const previousPeriod = { from: addDays(from, -days), to: addDays(from, -1) };

      const filters = ['c.orderDate >= @start', 'c.orderDate < @end'];
      const parameters: { name: string; value: string }[] = [
        { name: '@start', value: previousPeriod.from },
        // Timestamps sort as strings, so "before the next day" includes all of the last day.
        { name: '@end', value: addDays(to, 1) },
      ];
      if (region) {
        filters.push('c.region = @region');
        parameters.push({ name: '@region', value: region });
      }
      const iterator = store
        .container('orders')
        .items.query<OrderRow>(
          { query: `SELECT c.orderDate, c.segment, c.lines FROM c WHERE ${filters.join(' AND ')}`, parameters },
          { maxItemCount: pageSize, abortSignal: signal },
        );

      const current: Tally = { label: 'period', cents: 0, orders: 0 };
      const previous: Tally = { label: 'previous', cents: 0, orders: 0 };
      const groups = new Map<string, Tally>();
      const products = new Map<string, { name: string; cents: number; quantity: number }>();
      const tally = (key: string, label: string, cents: number) => {
        const group = groups.get(key) ?? { label, cents: 0, orders: 0 };
        group.cents += cents;
        group.orders += 1;
        groups.set(key, group);
      };

      let pages = 0;
      let rows = 0;
      await forEachPage(iterator, signal, async (resources) => {
        for (const order of resources) {
          // Orders written by other producers may lack lines or the denormalised segment.
          const lines = order.lines ?? [];
          const orderCents = lines.reduce((sum, line) => sum + toCents(line.amount), 0);
          if (order.orderDate.slice(0, 10) < from) {
            previous.cents += orderCents;
            previous.orders += 1;
            continue;
          }
          current.cents += orderCents;
          current.orders += 1;
          if (groupBy === 'month') tally(order.orderDate.slice(0, 7), order.orderDate.slice(0, 7), orderCents);
          if (groupBy === 'segment') tally(order.segment ?? 'unknown', order.segment ?? 'unknown', orderCents);
          const perProduct = new Map<string, number>();
          for (const line of lines) {
            const cents = toCents(line.amount);
            const product = products.get(line.productId) ?? { name: line.productName, cents: 0, quantity: 0 };
            product.cents += cents;
            product.quantity += line.quantity;
            products.set(line.productId, product);
            perProduct.set(line.productId, (perProduct.get(line.productId) ?? 0) + cents);
          }
          if (groupBy === 'product') {
            for (const [productId, cents] of perProduct) tally(productId, products.get(productId)!.name, cents);
          }
        }
        pages += 1;
        rows += resources.length;
        await context.progress({ progress: pages, message: `Read ${rows} orders (${pages} pages)` });
      });

      return {
        period: { from, to },
        previousPeriod,
        region: region ?? null,
        groupBy,
        totals: summarize(current),
        growth: {
          revenue: compare(current.cents, previous.cents, 100),
          orderCount: compare(current.orders, previous.orders, 1),
        },
        groups: [...groups]
          .sort(([ka, a], [kb, b]) => b.cents - a.cents || ka.localeCompare(kb))
          .map(([key, group]) => ({ key, label: group.label, ...summarize(group) })),
        topProducts: [...products]
          .sort(([ka, a], [kb, b]) => b.cents - a.cents || ka.localeCompare(kb))
          .slice(0, TOP_PRODUCTS)
          .map(([productId, p]) => ({ productId, productName: p.name, revenue: p.cents / 100, quantity: p.quantity })),
      };
    },
  });
}

/** `analyze_sales_data` with production defaults. */
export const analyzeSalesDataTool = buildAnalyzeSalesDataTool();

function summarize({ cents, orders }: Tally) {
  return {
    revenue: cents / 100,
    orderCount: orders,
    averageOrderValue: orders === 0 ? 0 : round2(cents / orders / 100),
  };
}

/** Growth of integer amounts (cents or counts), scaled back to units only at the end. */
function compare(current: number, previous: number, scale: number) {
  return {
    previous: previous / scale,
    change: (current - previous) / scale,
    changePct: percentChange(current, previous),
  };
}
