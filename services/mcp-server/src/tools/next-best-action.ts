import {
  accountSchema,
  caseSchema,
  opportunitySchema,
  orderSchema,
  SAMPLE_DATA_REFERENCE_DATE,
} from '@mcp-broker/sample-data';
import { z } from 'zod';
import { customerIdArgument, queryCustomerPartition, requireCustomer } from './customer-lookup.ts';
import { nextBestActions, rankNextBestActions } from './next-best-action-rules.ts';
import { defineTool, ToolError } from './tool-definition.ts';

const CONTEXT_MAX = 500;

export const nextBestActionInput = z.object({
  customer_id: customerIdArgument,
  context: z
    .string()
    .max(CONTEXT_MAX)
    .optional()
    .describe(
      `Optional free text about the situation (at most ${CONTEXT_MAX} characters), e.g. "renewal call next week". ` +
        'Echoed back; an action whose keywords it mentions gets +10 points if its rule fired anyway.',
    ),
  as_of: z
    .union([z.iso.date(), z.iso.datetime()])
    .optional()
    .describe(
      `The instant the rules judge from, as YYYY-MM-DD or an ISO 8601 UTC timestamp. Default ${SAMPLE_DATA_REFERENCE_DATE}, ` +
        'the sample data’s reference date (the data is frozen there; the wall clock would make every customer look ' +
        'lapsed). Records dated after it are ignored.',
    ),
});

const signalValue = z.union([z.number(), z.string(), z.boolean(), z.null()]);

export const nextBestActionOutput = z.object({
  customerId: z.string().describe('The customer.'),
  customerName: z.string().describe('The customer’s company name.'),
  asOf: z.string().describe('The instant the rules judged from (ISO 8601 UTC).'),
  context: z.string().nullable().describe('The context given, or null.'),
  actions: z
    .array(
      z.object({
        action: z.enum(nextBestActions).describe('What to do next.'),
        score: z.number().int().min(0).max(100).describe('Priority 0–100: the sum of breakdown, capped at 100.'),
        rationale: z.string().describe('One sentence explaining the action with the figures behind it.'),
        signals: z.record(z.string(), signalValue).describe('The figures this rule used, by name.'),
        breakdown: z.record(z.string(), z.number()).describe('Points per rule component (see docs/tools.md).'),
      }),
    )
    .describe('Every action whose rule fired, highest score first, ties by action name. Empty when none fired.'),
  signals: z
    .record(z.string(), signalValue)
    .describe('Every figure the rules computed (money in USD, durations in whole days, null when undefined).'),
});

/**
 * Ranks what to do next with one customer from explainable rules over its history (see
 * `next-best-action-rules.ts` and docs/tools.md). All reads stay in the customer's partition.
 */
export const nextBestActionTool = defineTool({
  name: 'next_best_action',
  title: 'Next best action',
  description:
    'Ranks the next actions for one customer (follow_up_case, close_open_deal, rescue, renew, upsell, re_engage) ' +
    'from documented rules over its order recency and trend, open deals, unresolved high/critical cases and ' +
    'account tier. Each action has a 0–100 score, a one-sentence rationale citing the figures and the signals ' +
    'used. Deterministic: judged as of the sample data’s reference date unless as_of is given.',
  inputSchema: nextBestActionInput,
  outputSchema: nextBestActionOutput,
  requiredPermissions: ['Customers.Read'],
  timeoutMs: 10_000,
  async handler({ customer_id: customerId, context, as_of }, toolContext) {
    const { signal } = toolContext;
    const asOf = new Date(as_of ?? SAMPLE_DATA_REFERENCE_DATE);
    if (Number.isNaN(asOf.getTime())) throw new ToolError(`as_of "${as_of}" is not an ISO 8601 date or timestamp.`);
    const customer = await requireCustomer(toolContext, customerId);

    const [accounts, opportunities, orders, cases] = await Promise.all([
      queryCustomerPartition(toolContext, 'accounts', customerId, select('c.tier')),
      queryCustomerPartition(
        toolContext,
        'opportunities',
        customerId,
        select('c.stage, c.amount, c.closeDate, c.createdAt'),
      ),
      queryCustomerPartition(toolContext, 'orders', customerId, select('c.orderDate, c.total')),
      queryCustomerPartition(toolContext, 'cases', customerId, select('c.priority, c.status, c.openedAt, c.closedAt')),
    ]);
    signal.throwIfAborted();

    const { signals, actions } = rankNextBestActions(
      {
        accounts: z.array(accountSchema.pick({ tier: true })).parse(accounts),
        opportunities: z
          .array(opportunitySchema.pick({ stage: true, amount: true, closeDate: true, createdAt: true }))
          .parse(opportunities),
        orders: z.array(orderSchema.pick({ orderDate: true, total: true })).parse(orders),
        cases: z.array(caseSchema.pick({ priority: true, status: true, openedAt: true, closedAt: true })).parse(cases),
      },
      { asOf, context },
    );
    return {
      customerId,
      customerName: customer.name,
      asOf: asOf.toISOString(),
      context: context ?? null,
      actions,
      signals: { ...signals },
    };
  },
});

/** Selected fields (a constant of this module, never caller input) of every record of the customer. */
function select(fields: string): string {
  return `SELECT ${fields} FROM c WHERE c.customerId = @customerId`;
}
