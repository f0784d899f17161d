import { quarterOf } from '../calendar.ts';
import { accountPlanOpportunities, accountPlanRisks } from './account-plan-rules.ts';
import type { AccountPlan } from './account-plan-schema.ts';
import { type CaseRow, CaseTrends } from './case-trends.ts';
import { OrderHistory, type OrderRow } from './order-history.ts';
import { OrderStatistics } from './order-statistics.ts';
import { type OpportunityRow, PipelineTally } from './pipeline-tally.ts';

/** Everything the plan needs, accumulated page by page; nothing keeps whole pages around. */
export class AccountPlanAggregator {
  readonly #asOf: number;
  readonly #orders: OrderHistory;
  /** Absent when the tool runs without the rolling analysis. */
  readonly #statistics: OrderStatistics | undefined;
  readonly #pipeline: PipelineTally;
  readonly #cases: CaseTrends;

  constructor(asOf: number, analysis: boolean) {
    this.#asOf = asOf;
    this.#orders = new OrderHistory(asOf);
    this.#statistics = analysis ? new OrderStatistics() : undefined;
    this.#pipeline = new PipelineTally(asOf);
    this.#cases = new CaseTrends(asOf);
  }

  addOrders(orders: OrderRow[]): void {
    for (const order of orders) {
      const at = Date.parse(order.orderDate);
      const cents = this.#orders.add(order, at);
      this.#statistics?.add(order, at, cents);
    }
  }

  addOpportunities(opportunities: OpportunityRow[]): void {
    this.#pipeline.add(opportunities);
  }

  addCases(cases: CaseRow[]): void {
    this.#cases.add(cases);
  }

  result(
    account: AccountPlan['account'],
    customer: AccountPlan['customer'],
    pagesRead: number,
    recordsRead: number,
  ): AccountPlan {
    const asOfIso = new Date(this.#asOf).toISOString();
    const asOfQuarter = quarterOf(asOfIso);
    const plan: AccountPlan = {
      asOf: asOfIso,
      account,
      customer,
      summary: { ...this.#orders.summary(), ...this.#pipeline.summary(), openCases: this.#cases.openCount() },
      revenueByQuarter: this.#orders.revenueByQuarter(asOfQuarter),
      productMix: this.#orders.productMix(),
      categoryMix: this.#orders.categoryMix(),
      pipelineByStage: this.#pipeline.byStage(),
      caseTrends: this.#cases.result(asOfQuarter),
      rollingStatistics: this.#statistics?.result(this.#asOf) ?? null,
      risks: [],
      opportunities: [],
      pagesRead,
      recordsRead,
    };
    plan.risks = accountPlanRisks(plan, {
      overdueOpen: this.#pipeline.overdueOpen,
      recentCases: this.#cases.recentCases,
      earlierCases: this.#cases.earlierCases,
    });
    plan.opportunities = accountPlanOpportunities(plan);
    return plan;
  }
}
