import { createHash } from 'node:crypto';
import { type Identity, identityKey } from '@mcp-broker/contracts';
import { generateSampleData } from '@mcp-broker/sample-data';
import type { Store } from '@mcp-broker/store';
import { describe, expect, it } from 'vitest';
import { useTestStore } from '../../test-support/test-store.ts';
import { testToolContext } from '../../test-support/tool-context.ts';
import { CosmosDocumentStorage } from '../documents/cosmos-document-storage.ts';
import { DocumentLinkSigner } from '../documents/signed-link.ts';
import { buildAnalyzeSalesDataTool } from './analyze-sales-data.ts';
import { buildBuildAccountPlanTool } from './build-account-plan.ts';
import { buildGenerateContractTool } from './generate-contract.ts';
import { buildMemoryTools } from './memory-tools.ts';
import { nextBestActionTool } from './next-best-action.ts';
import { queryCustomerDataTool } from './query-customer-data.ts';
import { queryDataTool } from './query-data.ts';
import type { ToolContext, ToolDefinition } from './tool-definition.ts';

/**
 * Golden outputs: every tool's whole structured result (and its progress reports and error
 * messages) for the seeded sample data (`npm run seed`'s seed 42), pinned byte for byte in
 * `__golden__/` (`.snap`, so no formatter rewrites them). The per-tool tests check the figures against independent calculations; these pin
 * everything else too (order of keys and items, rounding, messages), so a refactoring that changes
 * any byte of any answer fails here. Where one output per record would be too long to read, every
 * record's output is pinned by a digest and a few representative ones in full.
 */

const data = generateSampleData({ seed: 42, customers: 40 });
const NOW = Date.parse('2026-06-30T09:00:00.000Z');
let store: Store;

useTestStore('tool-outputs', {
  data,
  ready: async (s) => {
    store = s;
    // An account whose customer does not exist: the tools' "names customer …" error.
    await store
      .container('accounts')
      .items.upsert({ ...data.accounts[0]!, id: 'acc-999998-1', customerId: 'cus-999998' });
    await craftRuleAccount();
  },
});

/**
 * acc-999996-1: a silver account crafted so that the rules the sample data never triggers fire
 * (low win rate, stalled pipeline, rising case volume, tier upgrade, growth).
 */
async function craftRuleAccount() {
  const customer = { ...data.customers[0]!, id: 'cus-999996', name: 'Rules Galore Ltd' };
  const account = { ...data.accounts[0]!, id: 'acc-999996-1', customerId: customer.id, tier: 'silver' as const };
  const template = data.orders.find((o) => o.lines.length >= 2)!;
  const days = ['2024-08-15', '2025-03-03', '2025-08-20', '2025-11-11', '2026-01-05', '2026-04-28', '2026-06-01'];
  await store.container('customers').items.upsert(customer);
  await store.container('accounts').items.upsert(account);
  for (const [i, day] of days.entries()) {
    const lines = template.lines.map((l) => ({ ...l, quantity: l.quantity + i, amount: l.amount * (i + 1) + 0.37 }));
    await store.container('orders').items.upsert({
      ...template,
      id: `ord-999996-${String(i + 1).padStart(4, '0')}`,
      customerId: customer.id,
      accountId: account.id,
      orderDate: `${day}T09:30:00.000Z`,
      lines,
      total: lines.reduce((sum, l) => sum + l.amount, 0),
    });
  }
  const stages = ['closed_lost', 'closed_lost', 'closed_lost', 'closed_lost', 'closed_won', 'proposal', 'negotiation'];
  for (const [i, stage] of stages.entries()) {
    await store.container('opportunities').items.upsert({
      ...data.opportunities[0]!,
      id: `opp-999996-${String(i + 1).padStart(2, '0')}`,
      customerId: customer.id,
      accountId: account.id,
      stage,
      amount: 12_345.67 * (i + 1),
      createdAt: '2025-01-01T00:00:00.000Z',
      closeDate: i === 5 ? '2026-03-31' : '2026-09-30',
    });
  }
  const cases = [
    ['2025-09-01T08:00:00.000Z', 'low', '2025-09-04T17:00:00.000Z'],
    ['2026-02-01T08:00:00.000Z', 'medium', '2026-02-02T08:00:00.000Z'],
    ['2026-03-15T08:00:00.000Z', 'high', undefined],
    ['2026-05-20T08:00:00.000Z', 'critical', undefined],
    ['2026-06-10T08:00:00.000Z', 'medium', '2026-07-01T08:00:00.000Z'],
  ] as const;
  for (const [i, [openedAt, priority, closedAt]] of cases.entries()) {
    await store.container('cases').items.upsert({
      ...data.cases[0]!,
      id: `cas-999996-${String(i + 1).padStart(2, '0')}`,
      customerId: customer.id,
      priority,
      openedAt,
      status: closedAt ? 'closed' : 'open',
      ...(closedAt ? { closedAt } : { closedAt: undefined }),
    });
  }
}

function context(permissions: string[], subject = 'golden-client'): ReturnType<typeof testToolContext> {
  return testToolContext(store, { permissions, subject });
}

async function call<T extends ToolDefinition>(tool: T, args: unknown, ctx: ToolContext) {
  return tool.handler(tool.inputSchema.parse(args), ctx) as ReturnType<T['handler']>;
}

async function errorOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return `${(error as Error).name}: ${(error as Error).message}`;
  }
  throw new Error('expected the call to fail');
}

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
const digest = (values: unknown[]) =>
  values.map((v) => createHash('sha256').update(JSON.stringify(v)).digest('hex')).join('\n');

describe('golden outputs over the seeded sample data', () => {
  it('build_account_plan: whole plans, progress and errors stay byte-identical', async () => {
    const tool = buildBuildAccountPlanTool({ pageSize: 4 });
    const permissions = ['Accounts.Read'];
    const busiest = context(permissions);
    const plans = {
      // The most orders: several pages of each kind, most rules fire.
      busiest: await call(tool, { account_id: 'acc-000010-1' }, busiest.context),
      // No orders at all: empty quarters, null statistics, no order-based rules.
      noOrders: await call(tool, { account_id: 'acc-000002-2' }, context(permissions).context),
      // The customer with an unresolved high-priority case.
      escalated: await call(tool, { account_id: 'acc-000028-1' }, context(permissions).context),
      // Judged from an earlier instant: later records are left out, closed cases reopen.
      earlier: await call(
        tool,
        { account_id: 'acc-000010-1', as_of: '2025-02-14T12:00:00Z' },
        context(permissions).context,
      ),
      // Before the account's history began.
      beforeHistory: await call(
        tool,
        { account_id: 'acc-000010-1', as_of: '2019-01-01' },
        context(permissions).context,
      ),
      // Crafted so that the rules the sample data never fires do.
      crafted: await call(tool, { account_id: 'acc-999996-1' }, context(permissions).context),
      withoutAnalysis: await call(
        buildBuildAccountPlanTool({ analysis: false }),
        { account_id: 'acc-000037-1' },
        context(permissions).context,
      ),
    };
    await expect(json(plans)).toMatchFileSnapshot('__golden__/build-account-plan.json.snap');
    await expect(json(busiest.progress)).toMatchFileSnapshot('__golden__/build-account-plan.progress.json.snap');

    // Every account now and a year and a half earlier, when other rules fire.
    const every = [];
    for (const as_of of ['2026-06-30', '2025-01-01']) {
      for (const account of data.accounts) {
        every.push(await call(tool, { account_id: account.id, as_of }, context(permissions).context));
      }
    }
    const rules = every.map((p) => ({
      account: p.account.id,
      asOf: p.asOf,
      risks: p.risks.map((r) => r.code),
      opportunities: p.opportunities.map((o) => o.code),
    }));
    await expect(json(rules)).toMatchFileSnapshot('__golden__/build-account-plan.rules.json.snap');
    await expect(digest(every)).toMatchFileSnapshot('__golden__/build-account-plan.sha256.txt.snap');

    const errors = [
      await errorOf(call(tool, { account_id: 'acc-123456-9' }, context(permissions).context)),
      await errorOf(call(tool, { account_id: 'acc-999998-1' }, context(permissions).context)),
    ];
    await expect(json(errors)).toMatchFileSnapshot('__golden__/build-account-plan.errors.json.snap');
  }, 120_000);

  it('next_best_action: every customer’s ranking stays byte-identical', async () => {
    const permissions = ['Customers.Read'];
    const every = [];
    for (const customer of data.customers) {
      every.push(await call(nextBestActionTool, { customer_id: customer.id }, context(permissions).context));
    }
    const samples = {
      first: every[0],
      mostActions: every.reduce((best, r) => (r.actions.length > best.actions.length ? r : best)),
      withContext: await call(
        nextBestActionTool,
        { customer_id: 'cus-000010', context: 'Renewal call next week', as_of: '2025-11-03' },
        context(permissions).context,
      ),
    };
    await expect(json(samples)).toMatchFileSnapshot('__golden__/next-best-action.json.snap');
    await expect(digest(every)).toMatchFileSnapshot('__golden__/next-best-action.sha256.txt.snap');
    const errors = [
      await errorOf(call(nextBestActionTool, { customer_id: 'cus-999997' }, context(permissions).context)),
    ];
    await expect(json(errors)).toMatchFileSnapshot('__golden__/next-best-action.errors.json.snap');
  }, 60_000);

  it('query_customer_data: every customer’s picture stays byte-identical', async () => {
    const permissions = ['Customers.Read'];
    const every = [];
    for (const customer of data.customers) {
      every.push(await call(queryCustomerDataTool, { customer_id: customer.id }, context(permissions).context));
    }
    const samples = {
      first: every[0],
      mostOrders: every.reduce((best, r) => (r.summary.orderCount > best.summary.orderCount ? r : best)),
    };
    await expect(json(samples)).toMatchFileSnapshot('__golden__/query-customer-data.json.snap');
    await expect(digest(every)).toMatchFileSnapshot('__golden__/query-customer-data.sha256.txt.snap');
    const error = await errorOf(
      call(queryCustomerDataTool, { customer_id: 'cus-999997' }, context(permissions).context),
    );
    await expect(json([error])).toMatchFileSnapshot('__golden__/query-customer-data.errors.json.snap');
  }, 60_000);

  it('analyze_sales_data: every grouping, with and without a region, stays byte-identical', async () => {
    const tool = buildAnalyzeSalesDataTool({ pageSize: 40 });
    const h = context(['Sales.Read']);
    const results = [];
    for (const group_by of ['month', 'product', 'segment'] as const) {
      results.push(await call(tool, { from: '2025-07-01', to: '2026-06-29', group_by }, h.context));
      results.push(await call(tool, { from: '2024-02-29', to: '2025-02-28', group_by, region: 'emea' }, h.context));
    }
    await expect(json(results)).toMatchFileSnapshot('__golden__/analyze-sales-data.json.snap');
    await expect(json(h.progress)).toMatchFileSnapshot('__golden__/analyze-sales-data.progress.json.snap');
  }, 60_000);

  it('query_data: partition and cross-partition queries stay byte-identical', async () => {
    const h = context(['Data.Read']);
    const results = [
      await call(
        queryDataTool,
        {
          container: 'orders',
          filter: { field: 'customerId', op: 'eq', value: 'cus-000010' },
          fields: ['id', 'orderDate', 'total'],
          order_by: { field: 'orderDate', direction: 'desc' },
          limit: 5,
        },
        h.context,
      ),
      await call(
        queryDataTool,
        {
          container: 'opportunities',
          filter: {
            or: [
              { field: 'stage', op: 'eq', value: 'negotiation' },
              { field: 'amount', op: 'gte', value: 200000 },
            ],
          },
          fields: ['id', 'stage', 'amount'],
          order_by: { field: 'amount', direction: 'desc' },
          limit: 10,
        },
        h.context,
      ),
    ];
    await expect(json(results)).toMatchFileSnapshot('__golden__/query-data.json.snap');
  }, 60_000);

  it('generate_contract: ids, links, hashes and sizes stay byte-identical', async () => {
    const signer = new DocumentLinkSigner({
      secret: 'tool-outputs-test-secret-0123456789abcdef',
      baseUrl: 'https://mcp.example.com/api',
      now: () => NOW,
    });
    const tool = buildGenerateContractTool({ storage: new CosmosDocumentStorage(store), signer, linkTtlSeconds: 900 });
    const permissions = ['Contracts.Write'];
    const open = data.opportunities.filter((o) => o.stage !== 'closed_lost').slice(0, 3);
    const results = [];
    for (const [i, o] of open.entries()) {
      results.push(
        await call(
          tool,
          { opportunity_id: o.id, template: i === 1 ? 'enterprise' : 'standard' },
          context(permissions).context,
        ),
      );
    }
    const lost = data.opportunities.find((o) => o.stage === 'closed_lost')!;
    const errors = [
      await errorOf(call(tool, { opportunity_id: 'opp-999999-99' }, context(permissions).context)),
      await errorOf(call(tool, { opportunity_id: lost.id }, context(permissions).context)),
    ];
    await expect(json({ results, errors })).toMatchFileSnapshot('__golden__/generate-contract.json.snap');
  }, 60_000);

  it('memory tools: store, recall and clear answers stay byte-identical', async () => {
    let clock = NOW;
    const tools = buildMemoryTools({ now: () => new Date(clock) });
    const identity: Partial<Identity> = { subject: 'golden-memory', issuer: 'https://issuer.test/' };
    const ctx = testToolContext(store, { permissions: ['Memory.Read', 'Memory.Write'], identity }).context;
    const stored = [];
    for (const [i, content] of ['Prefers email', 'Renewal due in Q3', 'Call after 10:00 CET'].entries()) {
      clock += 1_000;
      stored.push(
        await call(
          tools.storeMemoryTool,
          {
            session_id: 'golden-session',
            content,
            kind: i === 0 ? 'preference' : 'note',
            ...(i === 2 ? { ttl_seconds: 60 } : {}),
          },
          ctx,
        ),
      );
    }
    const recalled = [
      await call(tools.recallMemoryTool, { session_id: 'golden-session' }, ctx),
      await call(tools.recallMemoryTool, { session_id: 'golden-session', query: 'RENEWAL', limit: 5 }, ctx),
    ];
    clock += 120_000;
    recalled.push(await call(tools.recallMemoryTool, { session_id: 'golden-session' }, ctx));
    const cleared = await call(tools.clearMemoryTool, { session_id: 'golden-session' }, ctx);
    // Ids are random; name them by the order they were stored in.
    const ids = new Map(stored.map((s, i) => [s.id, `mem-${i + 1}`]));
    const text = json({ owner: identityKey(ctx.identity), stored, recalled, cleared }).replace(
      /mem-[0-9a-f-]{36}/g,
      (id) => ids.get(id) ?? 'mem-unknown',
    );
    await expect(text).toMatchFileSnapshot('__golden__/memory-tools.json.snap');
  }, 60_000);
});
