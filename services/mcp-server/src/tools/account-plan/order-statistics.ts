import { DAY, YEAR } from '../calendar.ts';
import { round2 } from '../money.ts';
import { type AccountPlan, EWMA_ALPHA } from './account-plan-schema.ts';
import type { OrderRow } from './order-history.ts';
import { RunningStats } from './running-stats.ts';

/**
 * The per-page analysis: rolling statistics over orders in date order (the orders query sorts
 * by orderDate). A sliding 365-day window gives the best trailing-12-month revenue ever reached;
 * Welford's algorithm gives order value, gaps between orders and net unit price per product.
 */
export class OrderStatistics {
  readonly #orderValue = new RunningStats();
  #ewma: number | undefined;
  readonly #gaps = new RunningStats();
  #previousOrderAt: number | undefined;
  readonly #window: { at: number; cents: number }[] = [];
  #windowStart = 0;
  #windowCents = 0;
  #peak: { cents: number; at: string } | undefined;
  readonly #unitPrices = new Map<string, RunningStats>();

  add(order: OrderRow, at: number, cents: number): void {
    this.#orderValue.push(cents / 100);
    this.#ewma = this.#ewma === undefined ? cents / 100 : EWMA_ALPHA * (cents / 100) + (1 - EWMA_ALPHA) * this.#ewma;
    if (this.#previousOrderAt !== undefined) this.#gaps.push((at - this.#previousOrderAt) / DAY);
    this.#previousOrderAt = at;
    this.#window.push({ at, cents });
    this.#windowCents += cents;
    while (this.#window[this.#windowStart]!.at <= at - YEAR) {
      this.#windowCents -= this.#window[this.#windowStart]!.cents;
      this.#windowStart += 1;
    }
    // Drop what has left the window now and then, so memory stays bounded by one year of orders.
    if (this.#windowStart > 1024) {
      this.#window.splice(0, this.#windowStart);
      this.#windowStart = 0;
    }
    if (!this.#peak || this.#windowCents > this.#peak.cents) {
      this.#peak = { cents: this.#windowCents, at: order.orderDate.slice(0, 10) };
    }
    for (const line of order.lines ?? []) {
      const stats = this.#unitPrices.get(line.productId) ?? new RunningStats();
      stats.push(line.unitPrice);
      this.#unitPrices.set(line.productId, stats);
    }
  }

  result(asOf: number): NonNullable<AccountPlan['rollingStatistics']> {
    return {
      orderValue: this.#orderValue.n === 0 ? null : { ...this.#orderValue.summary(), ewma: round2(this.#ewma ?? 0) },
      daysBetweenOrders: this.#gaps.n === 0 ? null : this.#gaps.summary(),
      daysSinceLastOrder: this.#previousOrderAt === undefined ? null : round2((asOf - this.#previousOrderAt) / DAY),
      peakTrailing12MonthRevenue: this.#peak ? { revenue: this.#peak.cents / 100, at: this.#peak.at } : null,
      unitPriceByProduct: [...this.#unitPrices]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([productId, stats]) => ({ productId, ...stats.summary() })),
    };
  }
}
