/**
 * Money and the figures derived from it, as every tool computes and shows them. Amounts carry two
 * decimals, so tools sum them in integer cents (exact) and round only averages and percentages.
 */

/** An amount in USD as integer cents. */
export function toCents(amount: number): number {
  return Math.round(amount * 100);
}

/** Rounded to 2 decimals, the precision of every amount, average and percentage the tools return. */
export function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

/** `part` as a percentage of `whole` (2 decimals); null when `whole` is 0. */
export function percent(part: number, whole: number): number | null {
  return whole === 0 ? null : round2((part / whole) * 100);
}

/** The change from `previous` to `current` in percent (2 decimals); null when `previous` is 0. */
export function percentChange(current: number, previous: number): number | null {
  return previous === 0 ? null : round2(((current - previous) / previous) * 100);
}

const usdFormat = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' });
const wholeUsdFormat = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', maximumFractionDigits: 0 });

/** An amount for people to read, with cents: $1,234.50. */
export function usd(amount: number): string {
  return usdFormat.format(amount);
}

/** An amount for people to read, to the dollar: $1,235. */
export function wholeUsd(amount: number): string {
  return wholeUsdFormat.format(amount);
}
