import { describe, expect, it } from 'vitest';
import { generateCustomerRecords, SAMPLE_DATA_REFERENCE_DATE } from './generate-customer-records.ts';
import { generateSampleData, iterateCustomerRecords, type SampleData } from './generate-sample-data.ts';
import { productCatalogue } from './product-catalogue.ts';
import { accountSchema, caseSchema, customerSchema, opportunitySchema, orderSchema, productSchema } from './schemas.ts';

const REFERENCE = Date.parse(SAMPLE_DATA_REFERENCE_DATE);
const TWO_YEARS_BEFORE = REFERENCE - 730 * 86_400_000;

describe('generateSampleData', () => {
  const data = generateSampleData({ seed: 42, customers: 200 });

  it('is byte-identical for the same seed and size', () => {
    expect(JSON.stringify(generateSampleData({ seed: 42, customers: 200 }))).toBe(JSON.stringify(data));
  });

  it('defaults to seed 42 and 200 customers', () => {
    expect(JSON.stringify(generateSampleData())).toBe(JSON.stringify(data));
  });

  it('gives different data for a different seed', () => {
    const other = generateSampleData({ seed: 43, customers: 200 });
    expect(other.customers.map((c) => c.id)).toEqual(data.customers.map((c) => c.id));
    expect(JSON.stringify(other.customers)).not.toBe(JSON.stringify(data.customers));
    expect(JSON.stringify(other.orders)).not.toBe(JSON.stringify(data.orders));
  });

  it('makes a smaller set a prefix of a larger one with the same seed', () => {
    const small = generateSampleData({ seed: 42, customers: 50 });
    const ids = new Set(small.customers.map((c) => c.id));
    expect(small.customers).toEqual(data.customers.slice(0, 50));
    expect(small.orders).toEqual(data.orders.filter((o) => ids.has(o.customerId)));
    expect(generateCustomerRecords(42, 50).customer).toEqual(data.customers[49]);
  });

  it('yields the same records one customer at a time', () => {
    const streamed: SampleData = {
      customers: [],
      accounts: [],
      opportunities: [],
      orders: [],
      products: [],
      cases: [],
    };
    for (const r of iterateCustomerRecords({ seed: 42, customers: 200 })) {
      streamed.customers.push(r.customer);
      streamed.accounts.push(...r.accounts);
      streamed.opportunities.push(...r.opportunities);
      streamed.orders.push(...r.orders);
      streamed.cases.push(...r.cases);
    }
    expect({ ...streamed, products: data.products }).toEqual(data);
  });

  it('produces records that match their schemas, with unique ids', () => {
    const checks: [keyof SampleData, { parse(v: unknown): unknown }][] = [
      ['customers', customerSchema.strict()],
      ['accounts', accountSchema.strict()],
      ['opportunities', opportunitySchema.strict()],
      ['orders', orderSchema.strict()],
      ['products', productSchema.strict()],
      ['cases', caseSchema.strict()],
    ];
    for (const [name, schema] of checks) {
      const records = data[name];
      expect(records.length, name).toBeGreaterThan(0);
      for (const record of records) schema.parse(record);
      expect(new Set(records.map((r) => r.id)).size, name).toBe(records.length);
    }
  });

  it('keeps referential integrity', () => {
    const customers = new Map(data.customers.map((c) => [c.id, c]));
    const accounts = new Map(data.accounts.map((a) => [a.id, a]));
    const products = new Map(data.products.map((p) => [p.id, p]));
    for (const a of data.accounts) expect(customers.has(a.customerId)).toBe(true);
    for (const o of data.opportunities) {
      expect(accounts.get(o.accountId)?.customerId).toBe(o.customerId);
      for (const p of o.productIds) expect(products.has(p)).toBe(true);
    }
    for (const o of data.orders) {
      const customer = customers.get(o.customerId);
      expect(accounts.get(o.accountId)?.customerId).toBe(o.customerId);
      expect(o.region).toBe(customer?.region);
      expect(o.segment).toBe(customer?.segment);
      for (const line of o.lines) {
        const product = products.get(line.productId);
        expect(product).toBeDefined();
        expect(line.productName).toBe(product?.name);
        expect(line.category).toBe(product?.category);
      }
    }
    for (const c of data.cases) expect(customers.has(c.customerId)).toBe(true);
  });

  it('keeps money consistent to the cent', () => {
    const cents = (n: number) => Math.round(n * 100);
    for (const o of data.orders) {
      for (const line of o.lines) {
        expect(cents(line.amount)).toBe(cents(line.unitPrice) * line.quantity);
        expect(line.unitPrice).toBeLessThanOrEqual(productCatalogue.find((p) => p.id === line.productId)!.listPrice);
      }
      expect(cents(o.total)).toBe(o.lines.reduce((sum, l) => sum + cents(l.amount), 0));
    }
    for (const o of data.opportunities) expect(Number.isInteger(cents(o.amount))).toBe(true);
  });

  it('spreads dates over the two years before the reference date, in a sensible order', () => {
    const inWindow = (iso: string) => {
      const t = Date.parse(iso);
      expect(t).toBeGreaterThanOrEqual(TWO_YEARS_BEFORE);
      expect(t).toBeLessThan(REFERENCE);
    };
    const customers = new Map(data.customers.map((c) => [c.id, c]));
    const accounts = new Map(data.accounts.map((a) => [a.id, a]));
    for (const c of data.customers) inWindow(c.createdAt);
    for (const a of data.accounts) {
      inWindow(a.createdAt);
      expect(a.createdAt >= customers.get(a.customerId)!.createdAt).toBe(true);
    }
    for (const o of data.orders) {
      inWindow(o.orderDate);
      expect(o.orderDate >= accounts.get(o.accountId)!.createdAt).toBe(true);
    }
    for (const o of data.opportunities) {
      inWindow(o.createdAt);
      inWindow(o.updatedAt);
      expect(o.updatedAt >= o.createdAt).toBe(true);
      const closed = o.stage === 'closed_won' || o.stage === 'closed_lost';
      // Open deals carry an expected close date after the reference date; closed ones a past one.
      expect(o.closeDate < SAMPLE_DATA_REFERENCE_DATE.slice(0, 10)).toBe(closed);
    }
    for (const c of data.cases) {
      inWindow(c.openedAt);
      expect(c.closedAt !== undefined).toBe(c.status === 'closed');
      if (c.closedAt) {
        inWindow(c.closedAt);
        expect(c.closedAt > c.openedAt).toBe(true);
      }
    }
    const orderYears = new Set(data.orders.map((o) => o.orderDate.slice(0, 4)));
    expect([...orderYears].sort()).toEqual(['2024', '2025', '2026']);
  });

  it('uses every segment, region, stage, priority and status', () => {
    expect(new Set(data.customers.map((c) => c.segment)).size).toBe(3);
    expect(new Set(data.customers.map((c) => c.region)).size).toBe(3);
    expect(new Set(data.opportunities.map((o) => o.stage)).size).toBe(6);
    expect(new Set(data.cases.map((c) => c.priority)).size).toBe(4);
    expect(new Set(data.cases.map((c) => c.status)).size).toBe(3);
  });

  it('has a fixed catalogue of 30 products in 5 categories', () => {
    expect(data.products).toHaveLength(30);
    expect(new Set(data.products.map((p) => p.category)).size).toBe(5);
    expect(data.products[0]?.id).toBe('prd-0001');
    expect(generateSampleData({ seed: 1, customers: 1 }).products).toEqual(data.products);
  });

  it('scales linearly with the number of customers', () => {
    const big = generateSampleData({ seed: 42, customers: 2000 });
    expect(big.customers).toHaveLength(2000);
    expect(big.customers.at(-1)?.id).toBe('cus-002000');
    expect(big.products).toHaveLength(30);
    for (const name of ['accounts', 'opportunities', 'orders', 'cases'] as const) {
      const ratio = big[name].length / data[name].length;
      expect(ratio, name).toBeGreaterThan(8);
      expect(ratio, name).toBeLessThan(12);
    }
    expect(generateSampleData({ customers: 0 }).orders).toEqual([]);
  });

  it('rejects sizes it cannot give six-digit ids to', () => {
    expect(() => generateSampleData({ customers: 1_000_000 })).toThrow(RangeError);
    expect(() => generateSampleData({ customers: -1 })).toThrow(RangeError);
    expect(() => generateSampleData({ customers: 1.5 })).toThrow(RangeError);
    expect(() => generateCustomerRecords(42, 0)).toThrow(RangeError);
  });
});

describe('key accounts', () => {
  it('every 10,000th customer has one account with 20,000 orders; others stay small', async () => {
    const { generateCustomerRecords, isKeyAccount } = await import('./index.ts');
    const key = generateCustomerRecords(42, 10_000);
    expect(isKeyAccount(10_000)).toBe(true);
    expect(key.accounts).toHaveLength(1);
    expect(key.orders).toHaveLength(20_000);
    expect(key.orders.every((o) => o.accountId === key.accounts[0]?.id)).toBe(true);
    const normal = generateCustomerRecords(42, 9_999);
    expect(normal.orders.length).toBeLessThanOrEqual(20);
  });
});
