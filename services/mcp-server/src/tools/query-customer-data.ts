import {
  caseSchema,
  closedOpportunityStages,
  customerSchema,
  opportunitySchema,
  orderSchema,
} from '@mcp-broker/sample-data';
import type { ContainerName } from '@mcp-broker/store';
import { z } from 'zod';
import { defineTool, type ToolContext, ToolError } from './tool-definition.ts';

const RECENT_ORDER_LIMIT = 10;

/** A bound query parameter; values never enter the query text. */
type QueryParameter = { name: `@${string}`; value: string | number | string[] };

export const queryCustomerDataInput = z.object({
  customer_id: z
    .string()
    .regex(/^cus-\d{6}$/, 'customer_id must be "cus-" followed by six digits, e.g. cus-000042')
    .describe('Customer id: "cus-" followed by six digits, e.g. cus-000042.'),
});

export const queryCustomerDataOutput = z.object({
  customer: customerSchema.describe('The customer profile.'),
  openOpportunities: z
    .array(opportunitySchema)
    .describe('Opportunities not closed (won or lost), soonest expected close date first.'),
  recentOrders: z.array(orderSchema).describe(`The ${RECENT_ORDER_LIMIT} most recent orders, newest first.`),
  openCases: z.array(caseSchema).describe('Support cases with status open or pending, most recently opened first.'),
  summary: z
    .object({
      lifetimeValue: z.number().describe('Sum of the totals of all orders ever placed, in USD.'),
      orderCount: z.number().int().describe('Number of orders ever placed (recentOrders shows at most 10).'),
      openPipeline: z.number().describe('Sum of the amounts of the open opportunities, in USD.'),
      openCaseCount: z.number().int().describe('Number of open or pending support cases.'),
    })
    .describe('Figures over all of the customer’s records.'),
});

/**
 * One customer's CRM picture. Every read stays in the customer's own partition (customers are
 * partitioned by id, the rest by customerId), so the cost does not grow with the data set.
 */
export const queryCustomerDataTool = defineTool({
  name: 'query_customer_data',
  title: 'Query customer data',
  description:
    'Returns one customer’s profile with their open opportunities, 10 most recent orders and open support ' +
    'cases, plus lifetime value, open pipeline and open case count. Fails when the customer id does not exist.',
  inputSchema: queryCustomerDataInput,
  outputSchema: queryCustomerDataOutput,
  requiredPermissions: ['Customers.Read'],
  timeoutMs: 10_000,
  async handler({ customer_id: customerId }, context) {
    const { signal, store } = context;
    const { resource } = await store.container('customers').item(customerId, customerId).read({ abortSignal: signal });
    if (!resource) {
      throw new ToolError(
        `No customer with id "${customerId}"; check the id (customer ids are assigned in order from cus-000001).`,
      );
    }
    const customer = customerSchema.parse(resource);

    const [openOpportunities, recentOrders, openCases, orderStats] = await Promise.all([
      queryPartition(
        context,
        'opportunities',
        customerId,
        'SELECT * FROM c WHERE c.customerId = @customerId AND NOT ARRAY_CONTAINS(@closedStages, c.stage) ' +
          'ORDER BY c.closeDate ASC',
        [{ name: '@closedStages', value: [...closedOpportunityStages] }],
      ),
      queryPartition(
        context,
        'orders',
        customerId,
        'SELECT TOP @limit * FROM c WHERE c.customerId = @customerId ORDER BY c.orderDate DESC',
        [{ name: '@limit', value: RECENT_ORDER_LIMIT }],
      ),
      queryPartition(
        context,
        'cases',
        customerId,
        'SELECT * FROM c WHERE c.customerId = @customerId AND c.status != @closed ORDER BY c.openedAt DESC',
        [{ name: '@closed', value: 'closed' }],
      ),
      queryPartition(
        context,
        'orders',
        customerId,
        'SELECT COUNT(1) AS orderCount, SUM(c.total) AS lifetimeValue FROM c WHERE c.customerId = @customerId',
      ),
    ]);
    signal.throwIfAborted();

    const opportunities = z.array(opportunitySchema).parse(openOpportunities);
    const cases = z.array(caseSchema).parse(openCases);
    // Cosmos DB leaves SUM out when no row matched; the embedded server answers 0.
    const stats = orderStats[0] as { orderCount?: number; lifetimeValue?: number } | undefined;
    return {
      customer,
      openOpportunities: opportunities,
      recentOrders: z.array(orderSchema).parse(recentOrders),
      openCases: cases,
      summary: {
        lifetimeValue: roundMoney(stats?.lifetimeValue ?? 0),
        orderCount: stats?.orderCount ?? 0,
        // Amounts carry 2 decimals, so summing cents is exact.
        openPipeline: opportunities.reduce((cents, o) => cents + Math.round(o.amount * 100), 0) / 100,
        openCaseCount: cases.length,
      },
    };
  },
});

/** Reads every page of a query scoped to one customer's partition, stopping between pages on abort. */
async function queryPartition(
  context: ToolContext,
  container: ContainerName,
  customerId: string,
  query: string,
  parameters: QueryParameter[] = [],
): Promise<unknown[]> {
  const { signal, store } = context;
  const iterator = store
    .container(container)
    .items.query(
      { query, parameters: [{ name: '@customerId', value: customerId }, ...parameters] },
      { partitionKey: customerId, abortSignal: signal },
    );
  const results: unknown[] = [];
  while (iterator.hasMoreResults()) {
    signal.throwIfAborted();
    const { resources } = await iterator.fetchNext();
    results.push(...resources);
  }
  return results;
}

function roundMoney(value: number): number {
  return Math.round(value * 100) / 100;
}
