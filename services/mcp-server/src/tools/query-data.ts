import { z } from 'zod';
import {
  compileQuery,
  DEFAULT_LIMIT,
  FILTER_LIMITS,
  filterSchema,
  MAX_LIMIT,
  type QueryableContainer,
  QueryCompileError,
  type QuerySpec,
  queryableContainerNames,
  queryableContainers,
} from './query-compiler.ts';
import { defineTool, ToolError } from './tool-definition.ts';

const fieldList = Object.entries(queryableContainers)
  .map(([name, fields]) => `${name} (${Object.keys(fields).join(', ')})`)
  .join('; ');

const queryDataShape = z.object({
  container: z
    .enum(queryableContainerNames as [QueryableContainer, ...QueryableContainer[]], {
      error: (issue) =>
        `Unknown container ${JSON.stringify(issue.input)}; queryable containers: ${queryableContainerNames.join(', ')}`,
    })
    .describe(`Container to query: ${queryableContainerNames.join(', ')}.`),
  filter: filterSchema,
  fields: z
    .array(z.string().max(64))
    .min(1)
    .max(32)
    .optional()
    .describe('Fields to return; all of the container’s queryable fields when omitted.'),
  order_by: z
    .object({
      field: z.string().max(64).describe('A queryable, non-array field.'),
      direction: z.enum(['asc', 'desc']).default('asc').describe('asc (default) or desc.'),
    })
    .optional()
    .describe('Sort by one field. Records lacking the field may be left out of a sorted result.'),
  limit: z
    .number()
    .int()
    .min(1)
    .max(MAX_LIMIT)
    .default(DEFAULT_LIMIT)
    .describe(`Most items to return, 1–${MAX_LIMIT}. Default ${DEFAULT_LIMIT}.`),
});

/** Runs the compiler during validation, so every refusal is a field-named argument error. */
export const queryDataInput = queryDataShape.superRefine((args, ctx) => {
  try {
    compileQuery(toSpec(args));
  } catch (error) {
    if (!(error instanceof QueryCompileError)) throw error;
    ctx.addIssue({ code: 'custom', path: error.path, message: error.message });
  }
});

/** Any JSON value, typed branch by branch so clients generating types from `outputSchema` can read it. */
const jsonValue = z.json();

export const queryDataOutput = z.object({
  container: z.string().describe('The container queried.'),
  items: z
    .array(z.record(z.string(), jsonValue))
    .describe('Matching records with the requested fields (a record lacking a field omits it).'),
  count: z.number().int().describe('Number of items returned.'),
  truncated: z
    .boolean()
    .describe(
      'True when more records may match than were returned: the limit was reached, or a cross-partition query ' +
        'used up its read budget. Narrow the filter (e.g. on the partition key) or raise the limit.',
    ),
  crossPartition: z
    .boolean()
    .describe('True when the filter does not pin the container’s partition key, so every partition is read.'),
  sql: z.string().describe('The Cosmos SQL that ran, with @parameter placeholders (for debugging).'),
  parameters: z
    .array(z.object({ name: z.string(), value: jsonValue }))
    .describe('The values bound to the placeholders. @limit is one more than limit, to detect further matches.'),
});

/** Options for building the tool; the defaults suit production. */
export interface QueryDataOptions {
  /** Items requested per page (`maxItemCount`). Default 100. */
  pageSize?: number;
  /** Pages read at most; with the page size this bounds a query at 5,000 items read. Default 50. */
  maxPages?: number;
}

/**
 * Builds `query_data`: read-only, structured queries over the allowlisted CRM containers. The filter
 * is compiled to parameterised Cosmos SQL (`query-compiler.ts`); `TOP @limit` asks for one more item
 * than the limit, so a full result says whether more match. A filter that does not pin the partition
 * key fans out over every partition; those reads stop after `maxPages` pages.
 */
export function buildQueryDataTool(options: QueryDataOptions = {}) {
  const pageSize = options.pageSize ?? 100;
  const maxPages = options.maxPages ?? 50;
  return defineTool({
    name: 'query_data',
    title: 'Query data',
    description:
      'Read-only structured query over one CRM container (customers, accounts, opportunities, orders, products, ' +
      'cases): a filter of conditions { field, op, value } combined with and/or, optional fields to return, one ' +
      `sort field and a limit (default ${DEFAULT_LIMIT}, at most ${MAX_LIMIT}). Queryable fields: ${fieldList}. ` +
      `At most ${FILTER_LIMITS.maxConditions} conditions, ${FILTER_LIMITS.maxDepth} levels of and/or, ` +
      `${FILTER_LIMITS.maxInValues} values per "in". Filtering on the partition key (customerId; id for customers; ` +
      'category for products) keeps the query in one partition.',
    inputSchema: queryDataInput,
    outputSchema: queryDataOutput,
    requiredPermissions: ['Data.Read'],
    timeoutMs: 15_000,
    async handler(args, { signal, store }) {
      const limit = args.limit ?? DEFAULT_LIMIT;
      let compiled: ReturnType<typeof compileQuery>;
      try {
        compiled = compileQuery(toSpec({ ...args, limit }));
      } catch (error) {
        // Direct callers may skip the input schema; the registry never gets here with a bad query.
        if (error instanceof QueryCompileError) throw new ToolError(`${error.path.join('.')}: ${error.message}`);
        throw error;
      }
      const { sql, parameters, partitionKey } = compiled;
      // Items come from Cosmos DB as parsed JSON, so every value is a JSON value.
      const iterator = store.container(args.container).items.query<Record<string, z.infer<typeof jsonValue>>>(
        { query: sql, parameters },
        {
          maxItemCount: pageSize,
          abortSignal: signal,
          ...(partitionKey === undefined ? {} : { partitionKey }),
        },
      );
      const items: Record<string, z.infer<typeof jsonValue>>[] = [];
      let pages = 0;
      while (iterator.hasMoreResults() && items.length <= limit && pages < maxPages) {
        signal.throwIfAborted();
        const { resources } = await iterator.fetchNext();
        items.push(...resources);
        pages += 1;
      }
      signal.throwIfAborted();
      const budgetSpent = pages >= maxPages && items.length <= limit && iterator.hasMoreResults();
      const returned = items.slice(0, limit);
      return {
        container: args.container,
        items: returned,
        count: returned.length,
        truncated: items.length > limit || budgetSpent,
        crossPartition: partitionKey === undefined,
        sql,
        parameters,
      };
    },
  });
}

/** `query_data` with production defaults. */
export const queryDataTool = buildQueryDataTool();

function toSpec(args: z.infer<typeof queryDataShape>): QuerySpec {
  return {
    container: args.container,
    filter: args.filter,
    fields: args.fields,
    order_by: args.order_by,
    top: (args.limit ?? DEFAULT_LIMIT) + 1,
  };
}
