import { casePriorities, type SupportCase } from '@mcp-broker/sample-data';
import { DAY, laterQuarter, quarterOf, quartersBetween } from '../calendar.ts';
import { round2 } from '../money.ts';
import type { AccountPlan } from './account-plan-schema.ts';
import { RunningStats } from './running-stats.ts';

export type CaseRow = Pick<SupportCase, 'id' | 'priority' | 'status' | 'openedAt' | 'closedAt'>;

/**
 * The customer's support cases (cases belong to the customer, not to one account) as of `asOf`:
 * opened and closed per quarter, unresolved by priority, resolution time, and how many were opened
 * in the last six months against the six before.
 */
export class CaseTrends {
  readonly #asOf: number;
  #caseCount = 0;
  readonly #caseQuarters = new Map<string, { opened: number; closed: number }>();
  readonly #openByPriority = Object.fromEntries(casePriorities.map((p) => [p, 0])) as Record<
    SupportCase['priority'],
    number
  >;
  #firstCase: string | undefined;
  readonly #resolution = new RunningStats();
  /** Cases opened in the 182 days up to asOf. */
  recentCases = 0;
  /** Cases opened in the 182 days before those. */
  earlierCases = 0;

  constructor(asOf: number) {
    this.#asOf = asOf;
  }

  add(cases: CaseRow[]): void {
    for (const c of cases) {
      this.#caseCount += 1;
      const opened = quarterOf(c.openedAt);
      if (!this.#firstCase || c.openedAt < this.#firstCase) this.#firstCase = c.openedAt;
      const q = this.#caseQuarters.get(opened) ?? { opened: 0, closed: 0 };
      q.opened += 1;
      this.#caseQuarters.set(opened, q);
      // A case closed after asOf was still unresolved then.
      if (c.status === 'closed' && c.closedAt && Date.parse(c.closedAt) < this.#asOf) {
        const closed = this.#caseQuarters.get(quarterOf(c.closedAt)) ?? { opened: 0, closed: 0 };
        closed.closed += 1;
        this.#caseQuarters.set(quarterOf(c.closedAt), closed);
        this.#resolution.push((Date.parse(c.closedAt) - Date.parse(c.openedAt)) / DAY);
      } else {
        this.#openByPriority[c.priority] += 1;
      }
      const openedAt = Date.parse(c.openedAt);
      if (openedAt > this.#asOf - 182 * DAY) this.recentCases += 1;
      else if (openedAt > this.#asOf - 364 * DAY) this.earlierCases += 1;
    }
  }

  /** Open or pending cases, all priorities. */
  openCount(): number {
    return Object.values(this.#openByPriority).reduce((sum, n) => sum + n, 0);
  }

  result(asOfQuarter: string): AccountPlan['caseTrends'] {
    const lastQuarter = [...this.#caseQuarters.keys()].sort().at(-1)!;
    return {
      total: this.#caseCount,
      byQuarter: this.#firstCase
        ? quartersBetween(quarterOf(this.#firstCase), laterQuarter(lastQuarter, asOfQuarter)).map((q) => ({
            quarter: q,
            opened: this.#caseQuarters.get(q)?.opened ?? 0,
            closed: this.#caseQuarters.get(q)?.closed ?? 0,
          }))
        : [],
      openByPriority: { ...this.#openByPriority },
      averageResolutionDays: this.#resolution.n === 0 ? null : round2(this.#resolution.mean),
    };
  }
}
