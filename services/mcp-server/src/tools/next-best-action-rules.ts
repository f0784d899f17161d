import type { Account, Opportunity, Order, SupportCase } from '@mcp-broker/sample-data';
import { DAY } from './calendar.ts';
import { toCents, wholeUsd } from './money.ts';

/**
 * The rules behind `next_best_action`: plain functions of one customer's history and a reference
 * instant, with every threshold and weight in `nextBestActionRules` (documented in docs/tools.md).
 * No randomness and no clock: the same history and `asOf` always give the same ranking.
 */

export const nextBestActions = ['follow_up_case', 'close_open_deal', 'rescue', 'renew', 'upsell', 're_engage'] as const;
export type NextBestAction = (typeof nextBestActions)[number];

/** Thresholds (days, percent, USD) and weights (points) of every rule. */
export const nextBestActionRules = {
  /** Added to rescue, renew, upsell and re_engage by the customer's best account tier. */
  tierBonus: { platinum: 15, gold: 10, silver: 5, bronze: 0 },
  windows: {
    /** "Last 6 months" is the 182 days before asOf; "prior 6 months" the 182 days before that. */
    halfYearDays: 182,
    /** Orders placed this many days before asOf are "a year ago" (renewal due). */
    anniversaryDays: [335, 395],
  },
  follow_up_case: { base: 60, perCritical: 25, perHigh: 10, agedDays: 14, aged: 10 },
  close_open_deal: {
    base: 30,
    stage: { negotiation: 30, proposal: 20, qualification: 10, prospecting: 0 },
    /** Points by days to the nearest expected close date (overdue counts as soonest). */
    closingWithin: [
      { days: 30, points: 20 },
      { days: 60, points: 10 },
    ],
    /** Points by open pipeline in USD. */
    pipelineOver: [
      { usd: 250_000, points: 15 },
      { usd: 50_000, points: 8 },
    ],
  },
  rescue: {
    base: 35,
    /** Decline signal: order value of the last 6 months at least this many percent below the prior 6. */
    declinePct: 30,
    /** Decline points: 3 per 10 % of decline (rounded), at most declineMax. */
    declinePointsPer10Pct: 3,
    declineMax: 30,
    /** Gap signal: last order more than gapDays (and at most inactiveDays) ago. */
    gapDays: 120,
    gap: 10,
    longGapDays: 240,
    longGap: 20,
    /** When high or critical cases are also unresolved. */
    urgentCases: 10,
  },
  re_engage: { base: 40, inactiveDays: 365, lapsedBuyer: 10 },
  renew: {
    base: 45,
    /** Not if the customer ordered within this many days (renewed already, or in contact). */
    recentOrderDays: 30,
    valueOver: [
      { usd: 50_000, points: 15 },
      { usd: 10_000, points: 8 },
    ],
  },
  upsell: {
    base: 35,
    recentOrderDays: 90,
    strongGrowthPct: 25,
    strongGrowth: 15,
    steady: 5,
    frequentOrders: 3,
    frequent: 10,
  },
  /** Added to an action that fired when the caller's context mentions one of its keywords. */
  contextBoost: 10,
} as const;

/** Word prefixes in the caller's context that boost an action (case-insensitive, start of a word). */
export const contextKeywords: Record<NextBestAction, readonly string[]> = {
  follow_up_case: ['case', 'support', 'ticket', 'incident', 'outage', 'escalat', 'complain'],
  close_open_deal: ['deal', 'opportunit', 'pipeline', 'quote', 'proposal', 'negotiat', 'close'],
  rescue: ['churn', 'risk', 'cancel', 'declin', 'unhappy', 'retention', 'retain'],
  renew: ['renew', 'contract', 'subscription', 'expir', 'licen'],
  upsell: ['upsell', 'upgrade', 'expand', 'expansion', 'cross-sell', 'add-on', 'grow'],
  re_engage: ['dormant', 'inactive', 'lapsed', 'win back', 're-engage', 'reactivat', 'quiet'],
};

/** What the rules read about one customer (all of its records; fields the rules use). */
export interface CustomerHistory {
  accounts: Pick<Account, 'tier'>[];
  opportunities: Pick<Opportunity, 'stage' | 'amount' | 'closeDate' | 'createdAt'>[];
  orders: Pick<Order, 'orderDate' | 'total'>[];
  cases: Pick<SupportCase, 'priority' | 'status' | 'openedAt' | 'closedAt'>[];
}

/** The figures the rules use, as of `asOf`. Money in USD, durations in whole days. */
export interface Signals {
  order_count: number;
  days_since_last_order: number | null;
  orders_last_6m: number;
  order_value_last_6m: number;
  order_value_prior_6m: number;
  /** Whole percent; null when the prior 6 months had no orders. */
  order_value_change_pct: number | null;
  anniversary_order_count: number;
  anniversary_order_value: number;
  open_deal_count: number;
  open_pipeline: number;
  most_advanced_stage: string | null;
  /** Negative when the nearest expected close date has passed. */
  days_to_nearest_close: number | null;
  open_case_count: number;
  open_critical_cases: number;
  open_high_cases: number;
  oldest_urgent_case_days: number | null;
  best_tier: string | null;
}

export type SignalValue = number | string | boolean | null;

export interface RankedAction {
  action: NextBestAction;
  /** 0–100, the sum of `breakdown` capped at 100. */
  score: number;
  rationale: string;
  signals: Record<string, SignalValue>;
  /** Points per rule component, so the score can be checked by hand. */
  breakdown: Record<string, number>;
}

const stageOrder = ['prospecting', 'qualification', 'proposal', 'negotiation'] as const;
const tierOrder = ['platinum', 'gold', 'silver', 'bronze'] as const;
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * The signals as of `asOf`. Records dated at or after `asOf` are ignored (orders, cases, deals
 * created later); a case closed after `asOf` counts as unresolved. Deals use their current stage.
 */
export function computeSignals(history: CustomerHistory, asOf: Date): Signals {
  const now = asOf.getTime();
  const daysAgo = (iso: string) => Math.floor((now - Date.parse(iso)) / DAY);
  const half = nextBestActionRules.windows.halfYearDays;
  const [annFrom, annTo] = nextBestActionRules.windows.anniversaryDays;

  const orders = history.orders.filter((o) => Date.parse(o.orderDate) < now);
  const cents = (list: typeof orders) => list.reduce((sum, o) => sum + toCents(o.total), 0);
  const last6m = orders.filter((o) => daysAgo(o.orderDate) < half);
  const prior6m = orders.filter((o) => daysAgo(o.orderDate) >= half && daysAgo(o.orderDate) < 2 * half);
  const anniversary = orders.filter((o) => daysAgo(o.orderDate) >= annFrom && daysAgo(o.orderDate) <= annTo);
  const lastCents = cents(last6m);
  const priorCents = cents(prior6m);
  const newest = orders.reduce<string | null>(
    (max, o) => (max === null || o.orderDate > max ? o.orderDate : max),
    null,
  );

  const deals = history.opportunities.filter(
    (o) => Date.parse(o.createdAt) < now && (stageOrder as readonly string[]).includes(o.stage),
  );
  const stageRank = Math.max(-1, ...deals.map((o) => stageOrder.indexOf(o.stage as (typeof stageOrder)[number])));
  const asOfDay = Date.parse(asOf.toISOString().slice(0, 10));
  const closeDays = deals.map((o) => Math.round((Date.parse(o.closeDate) - asOfDay) / DAY));

  const unresolved = history.cases.filter(
    (c) =>
      Date.parse(c.openedAt) < now &&
      (c.status !== 'closed' || (c.closedAt !== undefined && Date.parse(c.closedAt) >= now)),
  );
  const urgent = unresolved.filter((c) => c.priority === 'critical' || c.priority === 'high');
  const tiers = history.accounts.map((a) => tierOrder.indexOf(a.tier)).filter((i) => i >= 0);

  return {
    order_count: orders.length,
    days_since_last_order: newest === null ? null : daysAgo(newest),
    orders_last_6m: last6m.length,
    order_value_last_6m: lastCents / 100,
    order_value_prior_6m: priorCents / 100,
    order_value_change_pct: priorCents === 0 ? null : Math.round(((lastCents - priorCents) / priorCents) * 100),
    anniversary_order_count: anniversary.length,
    anniversary_order_value: cents(anniversary) / 100,
    open_deal_count: deals.length,
    open_pipeline: deals.reduce((sum, o) => sum + toCents(o.amount), 0) / 100,
    most_advanced_stage: stageRank < 0 ? null : stageOrder[stageRank]!,
    days_to_nearest_close: closeDays.length === 0 ? null : Math.min(...closeDays),
    open_case_count: unresolved.length,
    open_critical_cases: urgent.filter((c) => c.priority === 'critical').length,
    open_high_cases: urgent.filter((c) => c.priority === 'high').length,
    oldest_urgent_case_days: urgent.length === 0 ? null : Math.max(...urgent.map((c) => daysAgo(c.openedAt))),
    best_tier: tiers.length === 0 ? null : tierOrder[Math.min(...tiers)]!,
  };
}

type Candidate = Omit<RankedAction, 'score'>;

/** Each rule returns its action when it fires, else undefined. */
const rules: Record<NextBestAction, (s: Signals, tierBonus: number) => Candidate | undefined> = {
  follow_up_case(s) {
    const r = nextBestActionRules.follow_up_case;
    const urgent = s.open_critical_cases + s.open_high_cases;
    if (urgent === 0) return undefined;
    const aged = (s.oldest_urgent_case_days ?? 0) > r.agedDays;
    return {
      action: 'follow_up_case',
      rationale:
        `${plural(s.open_critical_cases, 'critical case')} and ${plural(s.open_high_cases, 'high-priority case')} ` +
        `unresolved, the oldest open for ${plural(s.oldest_urgent_case_days ?? 0, 'day')}: ` +
        'follow up on them before pursuing new business.',
      signals: pick(s, ['open_critical_cases', 'open_high_cases', 'oldest_urgent_case_days', 'open_case_count']),
      breakdown: {
        base: r.base,
        critical_cases: r.perCritical * s.open_critical_cases,
        high_cases: r.perHigh * s.open_high_cases,
        aged: aged ? r.aged : 0,
      },
    };
  },

  close_open_deal(s) {
    const r = nextBestActionRules.close_open_deal;
    if (s.open_deal_count === 0) return undefined;
    const closeIn = s.days_to_nearest_close ?? Number.POSITIVE_INFINITY;
    const stage = s.most_advanced_stage as keyof typeof r.stage;
    const when = closeIn < 0 ? `${plural(-closeIn, 'day')} overdue` : `expected in ${plural(closeIn, 'day')}`;
    return {
      action: 'close_open_deal',
      rationale:
        `${plural(s.open_deal_count, 'open deal')} worth ${wholeUsd(s.open_pipeline)} (most advanced stage ` +
        `${stage}, nearest close ${when}): push to close.`,
      signals: pick(s, ['open_deal_count', 'open_pipeline', 'most_advanced_stage', 'days_to_nearest_close']),
      breakdown: {
        base: r.base,
        stage: r.stage[stage],
        closing_soon: r.closingWithin.find((t) => closeIn <= t.days)?.points ?? 0,
        pipeline: r.pipelineOver.find((t) => s.open_pipeline >= t.usd)?.points ?? 0,
      },
    };
  },

  rescue(s, tierBonus) {
    const r = nextBestActionRules.rescue;
    const change = s.order_value_change_pct;
    const declining = change !== null && change <= -r.declinePct;
    const days = s.days_since_last_order;
    const gap = days !== null && days > r.gapDays && days <= nextBestActionRules.re_engage.inactiveDays;
    if (!declining && !gap) return undefined;
    const urgent = s.open_critical_cases + s.open_high_cases;
    const reasons = [
      declining
        ? `order value fell ${-change!}% (${wholeUsd(s.order_value_prior_6m)} in the prior 6 months, ` +
          `${wholeUsd(s.order_value_last_6m)} in the last 6)`
        : undefined,
      gap ? `the last order was ${plural(days!, 'day')} ago` : undefined,
      urgent > 0 ? `${plural(urgent, 'high or critical case')} unresolved` : undefined,
    ].filter(Boolean);
    return {
      action: 'rescue',
      rationale:
        `Churn risk: ${reasons.join(', ')}${s.best_tier ? ` on a ${s.best_tier} account` : ''}; ` +
        'reach out with a retention offer.',
      signals: {
        ...pick(s, [
          'order_value_prior_6m',
          'order_value_last_6m',
          'order_value_change_pct',
          'days_since_last_order',
          'best_tier',
        ]),
        open_urgent_cases: urgent,
      },
      breakdown: {
        base: r.base,
        decline: declining ? Math.min(r.declineMax, Math.round((-change! * r.declinePointsPer10Pct) / 10)) : 0,
        gap: gap ? (days! > r.longGapDays ? r.longGap : r.gap) : 0,
        urgent_cases: urgent > 0 ? r.urgentCases : 0,
        tier: tierBonus,
      },
    };
  },

  renew(s, tierBonus) {
    const r = nextBestActionRules.renew;
    const [from, to] = nextBestActionRules.windows.anniversaryDays;
    if (s.anniversary_order_count === 0) return undefined;
    if (s.days_since_last_order !== null && s.days_since_last_order <= r.recentOrderDays) return undefined;
    return {
      action: 'renew',
      rationale:
        `${plural(s.anniversary_order_count, 'order')} worth ${wholeUsd(s.anniversary_order_value)} ` +
        `placed a year ago (${from}–${to} days back) and none in the last ${r.recentOrderDays} days` +
        `${s.best_tier ? ` on a ${s.best_tier} account` : ''}: propose the renewal.`,
      signals: pick(s, ['anniversary_order_count', 'anniversary_order_value', 'days_since_last_order', 'best_tier']),
      breakdown: {
        base: r.base,
        value: r.valueOver.find((t) => s.anniversary_order_value >= t.usd)?.points ?? 0,
        tier: tierBonus,
      },
    };
  },

  upsell(s, tierBonus) {
    const r = nextBestActionRules.upsell;
    const days = s.days_since_last_order;
    const change = s.order_value_change_pct;
    if (days === null || days > r.recentOrderDays) return undefined;
    if (change !== null && change < 0) return undefined;
    if (s.open_critical_cases + s.open_high_cases > 0) return undefined;
    const growth =
      change === null ? 'new revenue after no orders in the prior 6 months' : `+${change}% on the prior 6 months`;
    return {
      action: 'upsell',
      rationale:
        `Last order ${plural(days, 'day')} ago, ${plural(s.orders_last_6m, 'order')} worth ` +
        `${wholeUsd(s.order_value_last_6m)} in the last 6 months (${growth}) and no urgent cases` +
        `${s.best_tier ? ` on a ${s.best_tier} account` : ''}: offer an upgrade or add-on.`,
      signals: pick(s, [
        'days_since_last_order',
        'orders_last_6m',
        'order_value_last_6m',
        'order_value_change_pct',
        'best_tier',
      ]),
      breakdown: {
        base: r.base,
        growth: change === null || change >= r.strongGrowthPct ? r.strongGrowth : r.steady,
        frequency: s.orders_last_6m >= r.frequentOrders ? r.frequent : 0,
        tier: tierBonus,
      },
    };
  },

  re_engage(s, tierBonus) {
    const r = nextBestActionRules.re_engage;
    const days = s.days_since_last_order;
    if (days !== null && days <= r.inactiveDays) return undefined;
    if (s.open_deal_count > 0) return undefined;
    return {
      action: 're_engage',
      rationale:
        `${days === null ? 'No orders ever' : `No order for ${plural(days, 'day')} (${plural(s.order_count, 'order')} before)`}` +
        ` and no open deals${s.best_tier ? ` on a ${s.best_tier} account` : ''}: re-engage with a campaign or a call.`,
      signals: pick(s, ['days_since_last_order', 'order_count', 'open_deal_count', 'best_tier']),
      breakdown: { base: r.base, lapsed_buyer: days === null ? 0 : r.lapsedBuyer, tier: tierBonus },
    };
  },
};

/** Every action whose rule fires, highest score first (ties by action name). */
export function rankNextBestActions(
  history: CustomerHistory,
  options: { asOf: Date; context?: string | undefined },
): { signals: Signals; actions: RankedAction[] } {
  const signals = computeSignals(history, options.asOf);
  const tierBonus = signals.best_tier
    ? nextBestActionRules.tierBonus[signals.best_tier as keyof typeof nextBestActionRules.tierBonus]
    : 0;
  const boosted = new Set(boostedActions(options.context ?? ''));
  const actions = nextBestActions
    .map((name) => rules[name](signals, tierBonus))
    .filter((candidate) => candidate !== undefined)
    .map((candidate): RankedAction => {
      const breakdown = boosted.has(candidate.action)
        ? { ...candidate.breakdown, context: nextBestActionRules.contextBoost }
        : candidate.breakdown;
      const total = Object.values(breakdown).reduce((sum, points) => sum + points, 0);
      return {
        action: candidate.action,
        score: Math.max(0, Math.min(100, Math.round(total))),
        rationale: candidate.rationale,
        signals: boosted.has(candidate.action) ? { ...candidate.signals, context_match: true } : candidate.signals,
        breakdown,
      };
    })
    .sort((a, b) => b.score - a.score || (a.action < b.action ? -1 : 1));
  return { signals, actions };
}

// One pattern per action: any of its keywords at the start of a word.
const keywordPatterns = nextBestActions.map(
  (action) =>
    [
      action,
      new RegExp(`(?:^|[^a-z0-9])(?:${contextKeywords[action].map((k) => k.replace(/[^a-z ]/g, '\\$&')).join('|')})`),
    ] as const,
);

/** Actions whose keywords start a word of the context (case-insensitive). */
export function boostedActions(context: string): NextBestAction[] {
  const text = context.toLowerCase();
  return keywordPatterns.filter(([, pattern]) => pattern.test(text)).map(([action]) => action);
}

function pick<K extends keyof Signals>(signals: Signals, keys: K[]): Record<string, SignalValue> {
  return Object.fromEntries(keys.map((k) => [k, signals[k]]));
}
