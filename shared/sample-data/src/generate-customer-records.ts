import { productCatalogue } from './product-catalogue.ts';
import type {
  Account,
  Customer,
  Opportunity,
  Order,
  OrderLine,
  Product,
  Region,
  Segment,
  SupportCase,
} from './schemas.ts';
import { createSeededRandom, deriveSeed, type SeededRandom } from './seeded-random.ts';
import {
  caseSubjectTemplates,
  companyNouns,
  companyPrefixes,
  companySuffixes,
  dealKinds,
  divisions,
  industries,
  mailboxes,
} from './vocabulary.ts';

/**
 * Every generated date lies in the two years before this instant (open opportunities' expected
 * close dates excepted). A constant, never "now", so figures in tests and demos never drift.
 */
export const SAMPLE_DATA_REFERENCE_DATE = '2026-06-30T00:00:00.000Z';

/** Highest customer number; ids have six digits (cus-000001…cus-999999). */
export const MAX_CUSTOMERS = 999_999;

/** One customer and every record that belongs to it (all in the customer's partitions). */
export interface CustomerRecords {
  customer: Customer;
  accounts: Account[];
  opportunities: Opportunity[];
  orders: Order[];
  cases: SupportCase[];
}

const DAY = 86_400_000;
const HOUR = 3_600_000;
const REFERENCE = Date.parse(SAMPLE_DATA_REFERENCE_DATE);
const WINDOW_START = REFERENCE - 730 * DAY;

type Range = readonly [min: number, max: number];

interface SegmentProfile {
  weight: number;
  accounts: Range;
  opportunities: Range;
  orders: Range;
  cases: Range;
  linesPerOrder: Range;
  /** Units per line for products over $200; per-seat products get 20 times as many. */
  quantity: Range;
  /** Whole-percent discount off list price. */
  discountPct: Range;
  annualRevenue: Range;
  tiers: Readonly<Record<Account['tier'], number>>;
}

const profiles: Record<Segment, SegmentProfile> = {
  enterprise: {
    weight: 15,
    accounts: [2, 4],
    opportunities: [2, 8],
    orders: [6, 20],
    cases: [1, 6],
    linesPerOrder: [1, 4],
    quantity: [2, 24],
    discountPct: [5, 25],
    annualRevenue: [500_000_000, 20_000_000_000],
    tiers: { platinum: 5, gold: 4, silver: 1, bronze: 0 },
  },
  'mid-market': {
    weight: 35,
    accounts: [1, 2],
    opportunities: [1, 4],
    orders: [2, 10],
    cases: [0, 3],
    linesPerOrder: [1, 3],
    quantity: [1, 10],
    discountPct: [0, 15],
    annualRevenue: [20_000_000, 500_000_000],
    tiers: { platinum: 1, gold: 4, silver: 4, bronze: 1 },
  },
  smb: {
    weight: 50,
    accounts: [1, 1],
    opportunities: [0, 2],
    orders: [0, 6],
    cases: [0, 2],
    linesPerOrder: [1, 2],
    quantity: [1, 4],
    discountPct: [0, 5],
    annualRevenue: [500_000, 20_000_000],
    tiers: { platinum: 0, gold: 1, silver: 4, bronze: 5 },
  },
};

/**
 * Every 10,000th customer is a key account: one account with a long history (20,000 orders, many
 * deals and cases), so a large seed holds accounts whose full aggregation (build_account_plan)
 * takes minutes, as the broker's asynchronous paths need. Small seeds (under 10,000) have none.
 */
export const KEY_ACCOUNT_EVERY = 10_000;

export function isKeyAccount(customerNumber: number): boolean {
  return customerNumber % KEY_ACCOUNT_EVERY === 0;
}

const keyAccountProfile: SegmentProfile = {
  ...profiles.enterprise,
  accounts: [1, 1],
  opportunities: [40, 60],
  orders: [20_000, 20_000],
  cases: [30, 60],
};

const segmentWeights = Object.fromEntries(Object.entries(profiles).map(([s, p]) => [s, p.weight])) as Record<
  Segment,
  number
>;
const regionWeights: Record<Region, number> = { amer: 45, emea: 35, apac: 20 };
const stageWeights: Record<Opportunity['stage'], number> = {
  prospecting: 12,
  qualification: 14,
  proposal: 12,
  negotiation: 12,
  closed_won: 30,
  closed_lost: 20,
};
const priorityWeights: Record<SupportCase['priority'], number> = { low: 35, medium: 35, high: 20, critical: 10 };

/**
 * Generates customer number `customerNumber` (1-based) of the data set for `seed`. Each customer has
 * its own random stream, so the result is the same whatever the data set's size: a 60-customer set
 * is a prefix of the 100,000-customer set with the same seed.
 */
export function generateCustomerRecords(seed: number, customerNumber: number): CustomerRecords {
  if (!Number.isInteger(customerNumber) || customerNumber < 1 || customerNumber > MAX_CUSTOMERS) {
    throw new RangeError(`customerNumber must be an integer in 1..${MAX_CUSTOMERS}, got ${customerNumber}`);
  }
  const rng = createSeededRandom(deriveSeed(seed, customerNumber));
  const num = String(customerNumber).padStart(6, '0');
  const key = isKeyAccount(customerNumber);
  const segment: Segment = key ? 'enterprise' : rng.weighted(segmentWeights);
  const profile = key ? keyAccountProfile : profiles[segment];
  const region = rng.weighted(regionWeights);
  const prefix = rng.pick(companyPrefixes);
  const noun = rng.pick(companyNouns);
  const shortName = `${prefix} ${noun}`;
  const customerCreated = instantBetween(rng, WINDOW_START, REFERENCE - 90 * DAY);
  const customer: Customer = {
    id: `cus-${num}`,
    name: `${shortName} ${rng.pick(companySuffixes)}`,
    segment,
    region,
    industry: rng.pick(industries),
    createdAt: iso(customerCreated),
    email: `${rng.pick(mailboxes)}@${slug(shortName)}.example.com`,
  };

  const accountDivisions = rng.sample(divisions.slice(1), count(rng, profile.accounts) - 1);
  const accountCreated: number[] = [];
  const accounts: Account[] = ['Headquarters', ...accountDivisions].map((division, i) => {
    const created =
      i === 0
        ? customerCreated
        : instantBetween(rng, customerCreated, Math.min(customerCreated + 180 * DAY, REFERENCE - 30 * DAY));
    accountCreated.push(created);
    return {
      id: `acc-${num}-${i + 1}`,
      customerId: customer.id,
      name: `${shortName} ${division}`,
      tier: rng.weighted(profile.tiers),
      annualRevenue: skewedRevenue(rng, profile.annualRevenue),
      createdAt: iso(created),
    };
  });

  const orders = generateOrders(rng, customer, accounts, accountCreated, profile);
  const opportunities = generateOpportunities(rng, customer, shortName, accounts, accountCreated, profile);
  const cases = generateCases(rng, customer, customerCreated, profile);
  return { customer, accounts, opportunities, orders, cases };
}

function generateOrders(
  rng: SeededRandom,
  customer: Customer,
  accounts: Account[],
  accountCreated: number[],
  profile: SegmentProfile,
): Order[] {
  const drafts = Array.from({ length: count(rng, profile.orders) }, () => {
    const a = rng.int(0, accounts.length - 1);
    return { account: accounts[a]!, at: instantBetween(rng, accountCreated[a]!, REFERENCE) };
  });
  // Ids follow order dates, so ord-…-001 is the customer's first order.
  drafts.sort((x, y) => x.at - y.at);
  return drafts.map(({ account, at }, i) => {
    const lines = rng
      .sample(productCatalogue, count(rng, profile.linesPerOrder))
      .map((product) => orderLine(rng, product, profile));
    // Sum in cents: line amounts already have 2 decimals, so the total is exact.
    const totalCents = lines.reduce((sum, line) => sum + Math.round(line.amount * 100), 0);
    return {
      id: `ord-${customer.id.slice(4)}-${String(i + 1).padStart(3, '0')}`,
      customerId: customer.id,
      accountId: account.id,
      orderDate: iso(at),
      region: customer.region,
      segment: customer.segment,
      lines,
      total: totalCents / 100,
    };
  });
}

function orderLine(rng: SeededRandom, product: Product, profile: SegmentProfile): OrderLine {
  const perSeat = product.listPrice < 200;
  const quantity = count(rng, profile.quantity) * (perSeat ? 20 : 1);
  const unitCents = Math.round((product.listPrice * 100 * (100 - count(rng, profile.discountPct))) / 100);
  return {
    productId: product.id,
    productName: product.name,
    category: product.category,
    quantity,
    unitPrice: unitCents / 100,
    amount: (unitCents * quantity) / 100,
  };
}

function generateOpportunities(
  rng: SeededRandom,
  customer: Customer,
  shortName: string,
  accounts: Account[],
  accountCreated: number[],
  profile: SegmentProfile,
): Opportunity[] {
  return Array.from({ length: count(rng, profile.opportunities) }, (_, i) => {
    const a = rng.int(0, accounts.length - 1);
    const created = instantBetween(rng, accountCreated[a]!, REFERENCE - 2 * DAY);
    const products = rng.sample(productCatalogue, rng.int(1, 3));
    const amountCents = products.reduce(
      (sum, p) => sum + Math.round(p.listPrice * 100 * count(rng, profile.quantity) * (p.listPrice < 200 ? 20 : 1)),
      0,
    );
    const discounted = Math.round((amountCents * (100 - count(rng, profile.discountPct))) / 100);
    const stage = rng.weighted(stageWeights);
    let closeDate: string;
    let updatedAt: number;
    if (stage === 'closed_won' || stage === 'closed_lost') {
      updatedAt = instantBetween(rng, created + DAY, Math.min(created + 150 * DAY, REFERENCE));
      closeDate = iso(updatedAt).slice(0, 10);
    } else {
      closeDate = iso(REFERENCE + rng.int(7, 180) * DAY).slice(0, 10);
      updatedAt = instantBetween(rng, created, REFERENCE);
    }
    return {
      id: `opp-${customer.id.slice(4)}-${String(i + 1).padStart(2, '0')}`,
      customerId: customer.id,
      accountId: accounts[a]!.id,
      name: `${shortName} ${rng.pick(dealKinds)}: ${products[0]!.name}`,
      stage,
      amount: discounted / 100,
      currency: 'USD' as const,
      productIds: products.map((p) => p.id),
      closeDate,
      createdAt: iso(created),
      updatedAt: iso(updatedAt),
    };
  });
}

function generateCases(
  rng: SeededRandom,
  customer: Customer,
  customerCreated: number,
  profile: SegmentProfile,
): SupportCase[] {
  const openedTimes = Array.from({ length: count(rng, profile.cases) }, () =>
    instantBetween(rng, customerCreated, REFERENCE - DAY),
  ).sort((x, y) => x - y);
  return openedTimes.map((opened, i) => {
    const subject = rng.pick(caseSubjectTemplates).replace('{product}', rng.pick(productCatalogue).name);
    const priority = rng.weighted(priorityWeights);
    // Old cases are almost all resolved; recent ones are a mix, which keeps "open cases" realistic.
    const old = REFERENCE - opened > 30 * DAY;
    const status = old
      ? rng.weighted({ closed: 92, pending: 5, open: 3 })
      : rng.weighted({ closed: 40, pending: 25, open: 35 });
    const base = {
      id: `cas-${customer.id.slice(4)}-${String(i + 1).padStart(2, '0')}`,
      customerId: customer.id,
      subject,
      priority,
      status,
      openedAt: iso(opened),
    };
    if (status !== 'closed') return base;
    return { ...base, closedAt: iso(instantBetween(rng, opened + HOUR, Math.min(opened + 21 * DAY, REFERENCE))) };
  });
}

function count(rng: SeededRandom, [min, max]: Range): number {
  return rng.int(min, max);
}

/** A whole-second instant in [from, to). */
function instantBetween(rng: SeededRandom, from: number, to: number): number {
  return from + Math.floor((rng.next() * (to - from)) / 1000) * 1000;
}

/** Skewed towards the low end (cube of a uniform), rounded to thousands; no Math.log/exp. */
function skewedRevenue(rng: SeededRandom, [min, max]: Range): number {
  const u = rng.next();
  return Math.round((min + (max - min) * u * u * u) / 1000) * 1000;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}
