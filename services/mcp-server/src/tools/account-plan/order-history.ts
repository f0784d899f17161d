import type { Order } from '@mcp-broker/sample-data';
import { laterQuarter, quarterOf, quartersBetween, YEAR } from '../calendar.ts';
import { percent, percentChange, round2, toCents } from '../money.ts';
import type { AccountPlan } from './account-plan-schema.ts';

export type OrderRow = Pick<Order, 'id' | 'orderDate' | 'total' | 'lines'>;

/**
 * An account's orders, tallied as pages arrive: revenue overall, by trailing year, by quarter, by
 * product and by category. Money is kept in integer cents throughout, so sums are exact.
 */
export class OrderHistory {
  readonly #asOf: number;
  #orderCount = 0;
  #revenueCents = 0;
  #firstOrder: string | undefined;
  #lastOrder: string | undefined;
  #trailingCents = 0;
  #previousCents = 0;
  readonly #quarters = new Map<string, { cents: number; orders: number }>();
  readonly #products = new Map<
    string,
    { name: string; category: string; cents: number; quantity: number; orders: number }
  >();

  constructor(asOf: number) {
    this.#asOf = asOf;
  }

  /** Tallies one order; returns its value in cents (the sum of its lines). */
  add(order: OrderRow, at: number): number {
    const lines = order.lines ?? [];
    const cents = lines.reduce((sum, line) => sum + toCents(line.amount), 0);
    this.#orderCount += 1;
    this.#revenueCents += cents;
    const day = order.orderDate.slice(0, 10);
    if (!this.#firstOrder || day < this.#firstOrder) this.#firstOrder = day;
    if (!this.#lastOrder || day > this.#lastOrder) this.#lastOrder = day;
    // The query only returns orders before asOf.
    if (at > this.#asOf - YEAR) this.#trailingCents += cents;
    else if (at > this.#asOf - 2 * YEAR) this.#previousCents += cents;
    const q = this.#quarters.get(quarterOf(order.orderDate)) ?? { cents: 0, orders: 0 };
    q.cents += cents;
    q.orders += 1;
    this.#quarters.set(quarterOf(order.orderDate), q);
    const seen = new Set<string>();
    for (const line of lines) {
      const p = this.#products.get(line.productId) ?? {
        name: line.productName,
        category: line.category,
        cents: 0,
        quantity: 0,
        orders: 0,
      };
      p.cents += toCents(line.amount);
      p.quantity += line.quantity;
      if (!seen.has(line.productId)) p.orders += 1;
      seen.add(line.productId);
      this.#products.set(line.productId, p);
    }
    return cents;
  }

  /** The order figures of the plan's summary, in the summary's order. */
  summary() {
    const revenue = this.#revenueCents;
    return {
      lifetimeRevenue: revenue / 100,
      orderCount: this.#orderCount,
      averageOrderValue: this.#orderCount === 0 ? 0 : round2(revenue / this.#orderCount / 100),
      firstOrderDate: this.#firstOrder ?? null,
      lastOrderDate: this.#lastOrder ?? null,
      trailing12MonthRevenue: this.#trailingCents / 100,
      previous12MonthRevenue: this.#previousCents / 100,
      revenueGrowthPct: percentChange(this.#trailingCents, this.#previousCents),
    };
  }

  /** Every quarter from the first order's to `asOfQuarter` (or the last order's, if later). */
  revenueByQuarter(asOfQuarter: string): AccountPlan['revenueByQuarter'] {
    if (!this.#firstOrder) return [];
    return quartersBetween(quarterOf(this.#firstOrder), laterQuarter(quarterOf(this.#lastOrder!), asOfQuarter)).map(
      (q) => {
        const v = this.#quarters.get(q);
        return { quarter: q, revenue: (v?.cents ?? 0) / 100, orderCount: v?.orders ?? 0 };
      },
    );
  }

  productMix(): AccountPlan['productMix'] {
    return [...this.#products]
      .sort(([ka, a], [kb, b]) => b.cents - a.cents || ka.localeCompare(kb))
      .map(([productId, p]) => ({
        productId,
        productName: p.name,
        category: p.category,
        revenue: p.cents / 100,
        quantity: p.quantity,
        orderCount: p.orders,
        sharePct: percent(p.cents, this.#revenueCents) ?? 0,
      }));
  }

  categoryMix(): AccountPlan['categoryMix'] {
    const categories = new Map<string, number>();
    for (const p of this.#products.values()) categories.set(p.category, (categories.get(p.category) ?? 0) + p.cents);
    return [...categories]
      .sort(([ka, a], [kb, b]) => b - a || ka.localeCompare(kb))
      .map(([category, cents]) => ({
        category,
        revenue: cents / 100,
        sharePct: percent(cents, this.#revenueCents) ?? 0,
      }));
  }
}
