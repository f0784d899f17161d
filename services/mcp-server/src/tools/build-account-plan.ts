import { SAMPLE_DATA_REFERENCE_DATE } from '@mcp-broker/sample-data';
import { AccountPlanAggregator } from './account-plan/account-plan-aggregator.ts';
import { buildAccountPlanInput, buildAccountPlanOutput } from './account-plan/account-plan-schema.ts';
import type { CaseRow } from './account-plan/case-trends.ts';
import type { OrderRow } from './account-plan/order-history.ts';
import { type PagedRead, PagedReader } from './account-plan/paged-reader.ts';
import type { OpportunityRow } from './account-plan/pipeline-tally.ts';
import { findAccount, findCustomer } from './customer-lookup.ts';
import { defineTool, ToolError } from './tool-definition.ts';

/** Options for building the tool; the defaults suit production. */
export interface BuildAccountPlanOptions {
  /** Records per query page (`maxItemCount`); progress is reported after each. Default 25. */
  pageSize?: number;
  /** Run the per-page rolling analysis over order lines. Default true. */
  analysis?: boolean;
}

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
      const asOf = Date.parse(as_of ?? SAMPLE_DATA_REFERENCE_DATE);
      if (Number.isNaN(asOf)) throw new ToolError(`as_of "${as_of}" is not an ISO 8601 date or timestamp.`);
      const asOfIso = new Date(asOf).toISOString();
      // Account ids embed the customer number, and accounts partition on customerId: a point read.
      const customerId = `cus-${accountId.slice(4, 10)}`;
      const [account, customer] = await Promise.all([
        findAccount(context, accountId, customerId),
        findCustomer(context, customerId),
      ]);
      if (!account) throw new ToolError(`No account with id "${accountId}"; account ids look like acc-000042-1.`);
      if (!customer)
        throw new ToolError(`Account "${accountId}" names customer "${customerId}", which does not exist.`);

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
      await reader.read<OrderRow>(reads[0]!, (rows) => plan.addOrders(rows));
      await reader.read<OpportunityRow>(reads[1]!, (rows) => plan.addOpportunities(rows));
      await reader.read<CaseRow>(reads[2]!, (rows) => plan.addCases(rows));

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
