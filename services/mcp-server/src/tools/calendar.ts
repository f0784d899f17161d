/** Days, years and calendar quarters as the tools count them: in UTC, on ISO 8601 strings. */

/** One day in milliseconds. */
export const DAY = 86_400_000;
/** The tools' year: 365 days, so trailing periods have the same length every year. */
export const YEAR = 365 * DAY;

/** The day (YYYY-MM-DD) `days` after `day` (before it when negative). */
export function addDays(day: string, days: number): string {
  return new Date(Date.parse(day) + days * DAY).toISOString().slice(0, 10);
}

/** The same day `years` later; 29 February rolls over to 1 March in non-leap years. */
export function addYears(day: string, years: number): string {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  // Date.UTC rolls 29 February over to 1 March in non-leap years, which is what "3 years later" needs.
  return new Date(Date.UTC(y + years, m - 1, d)).toISOString().slice(0, 10);
}

/** The day before the same day `months` later: the last day of a term starting on `day`. */
export function lastDayOfTerm(day: string, months: number): string {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1 + months, d) - DAY).toISOString().slice(0, 10);
}

/** The calendar quarter of a timestamp or day, e.g. 2025-Q3. */
export function quarterOf(timestamp: string): string {
  const month = Number(timestamp.slice(5, 7));
  return `${timestamp.slice(0, 4)}-Q${Math.ceil(month / 3)}`;
}

/** Every quarter from `first` to `last`, both included, oldest first. */
export function quartersBetween(first: string, last: string): string[] {
  const index = (q: string) => Number(q.slice(0, 4)) * 4 + Number(q.slice(6)) - 1;
  const out: string[] = [];
  for (let i = index(first); i <= index(last); i += 1) out.push(`${Math.floor(i / 4)}-Q${(i % 4) + 1}`);
  return out;
}

/** The later of two quarters. */
export function laterQuarter(a: string, b: string): string {
  return a > b ? a : b;
}
