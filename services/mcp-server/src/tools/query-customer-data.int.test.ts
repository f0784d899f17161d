import { generateSampleData } from '@mcp-broker/sample-data';
import type { Store } from '@mcp-broker/store';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { useTestStore } from '../../test-support/test-store.ts';
import { testToolContext } from '../../test-support/tool-context.ts';
import { queryCustomerDataTool as tool } from './query-customer-data.ts';
import { type ToolContext, ToolError } from './tool-definition.ts';

const data = generateSampleData({ seed: 11, customers: 60 });
let store: Store;

useTestStore('query-customer-data', {
  data,
  ready: async (s) => {
    store = s;
  },
});

function buildContext(signal?: AbortSignal): ToolContext {
  const { context } = testToolContext(store, { permissions: ['Customers.Read'] });
  return signal ? { ...context, signal } : context;
}

async function call(customerId: string, context = buildContext()) {
  return tool.handler(tool.inputSchema.parse({ customer_id: customerId }), context);
}

const round2 = (n: number) => Math.round(n * 100) / 100;
const byId = <T extends { id: string }>(items: T[]) => [...items].sort((a, b) => a.id.localeCompare(b.id));

describe('query_customer_data', () => {
  it('returns exactly each customer’s own open records, recent orders and figures', async () => {
    for (const customer of data.customers) {
      const result = await call(customer.id);
      const orders = data.orders.filter((o) => o.customerId === customer.id);
      const openOpportunities = data.opportunities.filter(
        (o) => o.customerId === customer.id && o.stage !== 'closed_won' && o.stage !== 'closed_lost',
      );
      const openCases = data.cases.filter((c) => c.customerId === customer.id && c.status !== 'closed');

      expect(result.customer).toEqual(customer);
      expect(byId(result.openOpportunities)).toEqual(byId(openOpportunities));
      expect(result.recentOrders).toEqual(
        [...orders].sort((a, b) => b.orderDate.localeCompare(a.orderDate)).slice(0, 10),
      );
      expect(byId(result.openCases)).toEqual(byId(openCases));
      expect(result.summary).toEqual({
        lifetimeValue: round2(orders.reduce((sum, o) => sum + o.total, 0)),
        orderCount: orders.length,
        openPipeline: round2(openOpportunities.reduce((sum, o) => sum + o.amount, 0)),
        openCaseCount: openCases.length,
      });
      const closeDates = result.openOpportunities.map((o) => o.closeDate);
      expect(closeDates).toEqual([...closeDates].sort());
      const openedAt = result.openCases.map((c) => c.openedAt);
      expect(openedAt).toEqual([...openedAt].sort().reverse());
    }
  }, 60_000);

  it('covers customers with more than 10 orders and with none', async () => {
    const counts = data.customers.map((c) => data.orders.filter((o) => o.customerId === c.id).length);
    expect(Math.max(...counts)).toBeGreaterThan(10);
    expect(Math.min(...counts)).toBe(0);
    const idle = data.customers[counts.indexOf(0)]!;
    const result = await call(idle.id);
    expect(result.recentOrders).toEqual([]);
    expect(result.summary.lifetimeValue).toBe(0);
    expect(result.summary.orderCount).toBe(0);
  });

  it('returns output that matches its schema and carries no Cosmos system properties', async () => {
    const result = await call(data.customers[3]!.id);
    expect(tool.outputSchema.strict().parse(result)).toBeTruthy();
    expect(JSON.stringify(result)).not.toMatch(/"_(rid|etag|self|ts)"/);
  });

  it('fails with a ToolError naming the id when the customer does not exist', async () => {
    const error = await call('cus-999999').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ToolError);
    expect((error as Error).message).toContain('No customer with id "cus-999999"');
  });

  it('rejects malformed customer ids in its input schema', () => {
    for (const bad of ['cus-1', 'CUS-000001', 'cus-0000001', 'cus-00000a', '', "cus-000001' OR 1=1"]) {
      const parsed = tool.inputSchema.safeParse({ customer_id: bad });
      expect(parsed.success, bad).toBe(false);
      expect(parsed.error?.issues[0]?.path).toEqual(['customer_id']);
    }
    expect(tool.inputSchema.safeParse({}).success).toBe(false);
    expect(tool.inputSchema.safeParse({ customer_id: 'cus-000001' }).success).toBe(true);
  });

  it('does not read when its signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('cancelled by test'));
    await expect(call(data.customers[0]!.id, buildContext(controller.signal))).rejects.toThrow(
      /cancelled by test|abort/i,
    );
  });

  it('declares its permission, timeout and self-documenting schemas', () => {
    expect(tool.name).toBe('query_customer_data');
    expect(tool.requiredPermissions).toEqual(['Customers.Read']);
    expect(tool.timeoutMs).toBe(10_000);
    const input = z.toJSONSchema(tool.inputSchema) as { properties: Record<string, { description?: string }> };
    expect(input.properties.customer_id?.description).toMatch(/cus-/);
    const output = z.toJSONSchema(tool.outputSchema) as { properties: Record<string, { description?: string }> };
    for (const [name, property] of Object.entries(output.properties)) expect(property.description, name).toBeTruthy();
  });
});
