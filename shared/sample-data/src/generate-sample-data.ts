import { type CustomerRecords, generateCustomerRecords, MAX_CUSTOMERS } from './generate-customer-records.ts';
import { productCatalogue } from './product-catalogue.ts';
import type { Account, Customer, Opportunity, Order, Product, SupportCase } from './schemas.ts';

/** Which data set to generate. The same options always give byte-identical records. */
export interface SampleDataOptions {
  /** 32-bit seed; different seeds give unrelated data sets. Default 42. */
  seed?: number;
  /** Number of customers, each with ~1.5 accounts, ~2.1 opportunities, ~5.5 orders, ~1.6 cases. Default 200. */
  customers?: number;
}

/** A whole data set as arrays, one per container. */
export interface SampleData {
  customers: Customer[];
  accounts: Account[];
  opportunities: Opportunity[];
  orders: Order[];
  products: Product[];
  cases: SupportCase[];
}

export const DEFAULT_SEED = 42;
export const DEFAULT_CUSTOMERS = 200;

/**
 * Yields the data set one customer at a time, in id order, holding nothing between customers, so
 * benchmark-sized sets stream into a store in constant memory. Products are not included: they are
 * the fixed `productCatalogue`.
 */
export function* iterateCustomerRecords(options: SampleDataOptions = {}): Generator<CustomerRecords, void, undefined> {
  const { seed, customers } = resolveOptions(options);
  for (let n = 1; n <= customers; n += 1) yield generateCustomerRecords(seed, n);
}

/** Generates the whole data set in memory; O(customers) time and space. */
export function generateSampleData(options: SampleDataOptions = {}): SampleData {
  const data: SampleData = {
    customers: [],
    accounts: [],
    opportunities: [],
    orders: [],
    products: productCatalogue.map((p) => ({ ...p })),
    cases: [],
  };
  for (const records of iterateCustomerRecords(options)) {
    data.customers.push(records.customer);
    // push(...spread) is fine here: a customer has at most a few dozen records of each kind.
    data.accounts.push(...records.accounts);
    data.opportunities.push(...records.opportunities);
    data.orders.push(...records.orders);
    data.cases.push(...records.cases);
  }
  return data;
}

function resolveOptions(options: SampleDataOptions): { seed: number; customers: number } {
  const seed = options.seed ?? DEFAULT_SEED;
  const customers = options.customers ?? DEFAULT_CUSTOMERS;
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
  if (!Number.isInteger(customers) || customers < 0 || customers > MAX_CUSTOMERS) {
    throw new RangeError(`customers must be an integer in 0..${MAX_CUSTOMERS}, got ${customers}`);
  }
  return { seed: seed >>> 0, customers };
}
