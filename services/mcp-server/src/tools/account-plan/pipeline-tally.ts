import { type Opportunity, opportunityStages } from '@mcp-broker/sample-data';
import { round2, toCents } from '../money.ts';
import type { AccountPlan } from './account-plan-schema.ts';

export type OpportunityRow = Pick<Opportunity, 'id' | 'stage' | 'amount' | 'closeDate'>;

/** Stage probabilities for the weighted pipeline; 0 for closed stages. */
const STAGE_PROBABILITY: Record<Opportunity['stage'], number> = {
  prospecting: 0.1,
  qualification: 0.2,
  proposal: 0.5,
  negotiation: 0.75,
  closed_won: 0,
  closed_lost: 0,
};

/** An account's opportunities by stage, in cents; and the open ones past their close date. */
export class PipelineTally {
  readonly #today: string;
  readonly #stages = new Map<Opportunity['stage'], { count: number; cents: number }>(
    opportunityStages.map((s) => [s, { count: 0, cents: 0 }]),
  );
  /** Open opportunities whose expected close date has passed. */
  overdueOpen = 0;

  constructor(asOf: number) {
    this.#today = new Date(asOf).toISOString().slice(0, 10);
  }

  add(opportunities: OpportunityRow[]): void {
    for (const o of opportunities) {
      const stage = this.#stages.get(o.stage);
      if (!stage) continue;
      stage.count += 1;
      stage.cents += toCents(o.amount);
      if (STAGE_PROBABILITY[o.stage] > 0 && o.closeDate < this.#today) this.overdueOpen += 1;
    }
  }

  /** Every stage in funnel order, zeros included. */
  byStage(): AccountPlan['pipelineByStage'] {
    return opportunityStages.map((stage) => {
      const s = this.#stages.get(stage)!;
      return { stage, count: s.count, amount: s.cents / 100 };
    });
  }

  /** The pipeline figures of the plan's summary, in the summary's order. */
  summary() {
    const openStages = opportunityStages.filter((s) => STAGE_PROBABILITY[s] > 0);
    const openPipelineCents = openStages.reduce((sum, s) => sum + this.#stages.get(s)!.cents, 0);
    const weightedCents = openStages.reduce((sum, s) => sum + this.#stages.get(s)!.cents * STAGE_PROBABILITY[s], 0);
    const won = this.#stages.get('closed_won')!.count;
    const lost = this.#stages.get('closed_lost')!.count;
    return {
      openPipeline: openPipelineCents / 100,
      weightedPipeline: Math.round(weightedCents) / 100,
      winRatePct: won + lost === 0 ? null : round2((won / (won + lost)) * 100),
    };
  }
}
