import {
  caseSchema,
  closedOpportunityStages,
  customerSchema,
  opportunitySchema,
  orderSchema,
} from '@mcp-broker/sample-data';
import { z } from 'zod';
import { customerIdArgument, queryCustomerPartition, requireCustomer } from './customer-lookup.ts';
import { round2, toCents } from './money.ts';
import { defineTool } from './tool-definition.ts';

const RECENT_ORDER_LIMIT = 10;

export const queryCustomerDataInput = z.object({
  customer_id: customerIdArgument,
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
    const { signal } = context;
    const customer = await requireCustomer(context, customerId);

    const [openOpportunities, recentOrders, openCases, orderStats] = await Promise.all([
      queryCustomerPartition(
        context,
        'opportunities',
        customerId,
        'SELECT * FROM c WHERE c.customerId = @customerId AND NOT ARRAY_CONTAINS(@closedStages, c.stage) ' +
          'ORDER BY c.closeDate ASC',
        [{ name: '@closedStages', value: [...closedOpportunityStages] }],
      ),
      queryCustomerPartition(
        context,
        'orders',
        customerId,
        'SELECT TOP @limit * FROM c WHERE c.customerId = @customerId ORDER BY c.orderDate DESC',
        [{ name: '@limit', value: RECENT_ORDER_LIMIT }],
      ),
      queryCustomerPartition(
        context,
        'cases',
        customerId,
        'SELECT * FROM c WHERE c.customerId = @customerId AND c.status != @closed ORDER BY c.openedAt DESC',
        [{ name: '@closed', value: 'closed' }],
      ),
      queryCustomerPartition(
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
        lifetimeValue: round2(stats?.lifetimeValue ?? 0),
        orderCount: stats?.orderCount ?? 0,
        // Amounts carry 2 decimals, so summing cents is exact.
        openPipeline: opportunities.reduce((cents, o) => cents + toCents(o.amount), 0) / 100,
        openCaseCount: cases.length,
      },
    };
  },
});
