import { productCategories } from '@mcp-broker/sample-data';
import { usd } from '../money.ts';
import type { AccountPlan } from './account-plan-schema.ts';

/** Figures the risk rules need that the plan does not show. */
export interface RuleFacts {
  /** Open opportunities past their expected close date. */
  overdueOpen: number;
  /** Cases opened in the last six months. */
  recentCases: number;
  /** Cases opened in the six months before those. */
  earlierCases: number;
}

const SEVERITY = { high: 0, medium: 1, low: 2 } as const;

/** The risk rules; each names its figures. */
export function accountPlanRisks(plan: AccountPlan, facts: RuleFacts): AccountPlan['risks'] {
  const { summary } = plan;
  const risks: AccountPlan['risks'] = [];
  const { critical, high } = plan.caseTrends.openByPriority;
  if (critical + high > 0) {
    risks.push({
      code: 'open_escalations',
      severity: critical > 0 ? 'high' : 'medium',
      message: `${critical} critical and ${high} high-priority support cases are unresolved.`,
    });
  }
  if (summary.previous12MonthRevenue > 0 && summary.trailing12MonthRevenue < 0.8 * summary.previous12MonthRevenue) {
    risks.push({
      code: 'revenue_decline',
      severity: summary.trailing12MonthRevenue < 0.5 * summary.previous12MonthRevenue ? 'high' : 'medium',
      message: `Revenue in the last 12 months (${usd(summary.trailing12MonthRevenue)}) is ${-(summary.revenueGrowthPct ?? 0)} % below the 12 months before (${usd(summary.previous12MonthRevenue)}).`,
    });
  }
  if (summary.orderCount > 0 && summary.trailing12MonthRevenue === 0) {
    risks.push({
      code: 'no_recent_orders',
      severity: 'high',
      message: `No orders in the last 12 months; the latest was on ${summary.lastOrderDate}.`,
    });
  }
  const gaps = plan.rollingStatistics?.daysBetweenOrders;
  const since = plan.rollingStatistics?.daysSinceLastOrder;
  if (gaps && gaps.observations >= 2 && since !== null && since !== undefined && since > gaps.mean + 2 * gaps.stdDev) {
    risks.push({
      code: 'order_overdue',
      severity: 'medium',
      message: `${Math.round(since)} days since the latest order, against a usual gap of ${gaps.mean} ± ${gaps.stdDev} days.`,
    });
  }
  const peak = plan.rollingStatistics?.peakTrailing12MonthRevenue;
  if (
    peak &&
    peak.revenue > 0 &&
    summary.trailing12MonthRevenue > 0 &&
    summary.trailing12MonthRevenue < 0.5 * peak.revenue
  ) {
    risks.push({
      code: 'below_peak',
      severity: 'low',
      message: `Revenue in the last 12 months is less than half the peak of ${usd(peak.revenue)} (12 months to ${peak.at}).`,
    });
  }
  const closed = plan.pipelineByStage.filter((s) => s.stage === 'closed_won' || s.stage === 'closed_lost');
  const closedCount = closed.reduce((sum, s) => sum + s.count, 0);
  if (summary.winRatePct !== null && closedCount >= 4 && summary.winRatePct < 30) {
    risks.push({
      code: 'low_win_rate',
      severity: 'medium',
      message: `Only ${summary.winRatePct} % of ${closedCount} closed opportunities were won.`,
    });
  }
  if (facts.overdueOpen > 0) {
    risks.push({
      code: 'stalled_pipeline',
      severity: 'low',
      message: `${facts.overdueOpen} open opportunities are past their expected close date.`,
    });
  }
  const top = plan.productMix[0];
  if (top && plan.productMix.length > 1 && top.sharePct > 50) {
    risks.push({
      code: 'product_concentration',
      severity: 'low',
      message: `${top.productName} brings ${top.sharePct} % of the account’s revenue.`,
    });
  }
  if (facts.recentCases >= 3 && facts.recentCases > 1.5 * facts.earlierCases) {
    risks.push({
      code: 'case_volume_rising',
      severity: 'medium',
      message: `${facts.recentCases} cases were opened in the last 6 months against ${facts.earlierCases} in the 6 months before.`,
    });
  }
  return risks.sort((a, b) => SEVERITY[a.severity] - SEVERITY[b.severity]);
}

/** The opportunity rules. */
export function accountPlanOpportunities(plan: AccountPlan): AccountPlan['opportunities'] {
  const { summary, account } = plan;
  const found: AccountPlan['opportunities'] = [];
  const negotiation = plan.pipelineByStage.find((s) => s.stage === 'negotiation')!;
  if (negotiation.count > 0) {
    found.push({
      code: 'close_negotiations',
      severity: 'high',
      message: `${negotiation.count} opportunities worth ${usd(negotiation.amount)} are in negotiation.`,
    });
  }
  if (summary.revenueGrowthPct !== null && summary.revenueGrowthPct >= 20) {
    found.push({
      code: 'growth_momentum',
      severity: 'medium',
      message: `Revenue grew ${summary.revenueGrowthPct} % year on year; propose a multi-year agreement.`,
    });
  }
  if (summary.orderCount > 0 && summary.openPipeline < summary.trailing12MonthRevenue) {
    found.push({
      code: 'build_pipeline',
      severity: 'medium',
      message: `Open pipeline (${usd(summary.openPipeline)}) is below the last 12 months’ revenue (${usd(summary.trailing12MonthRevenue)}).`,
    });
  }
  const bought = new Set(plan.categoryMix.map((c) => c.category));
  const missing = productCategories.filter((c) => !bought.has(c));
  if (summary.orderCount > 0 && missing.length > 0) {
    found.push({
      code: 'cross_sell',
      severity: 'low',
      message: `Never bought from ${missing.join(', ')}.`,
    });
  }
  const repeat = plan.productMix.filter((p) => p.orderCount >= 3);
  if (repeat.length > 0) {
    found.push({
      code: 'volume_agreement',
      severity: 'low',
      message: `Ordered repeatedly: ${repeat.map((p) => `${p.productName} (${p.orderCount} orders)`).join(', ')}; offer a volume or subscription agreement.`,
    });
  }
  if ((account.tier === 'silver' || account.tier === 'bronze') && summary.trailing12MonthRevenue >= 100_000) {
    found.push({
      code: 'tier_upgrade',
      severity: 'medium',
      message: `A ${account.tier}-tier account with ${usd(summary.trailing12MonthRevenue)} in the last 12 months; propose a higher tier.`,
    });
  }
  return found.sort((a, b) => SEVERITY[a.severity] - SEVERITY[b.severity]);
}
