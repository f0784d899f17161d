import { writeBackTargetTypes } from '@mcp-broker/contracts';
import type { Attributes, Meter, ObservableResult } from '@opentelemetry/api';
import { BoundedLabel } from './bounded-label.ts';

/** The parts of a tool-call record the metrics read (kept structural: telemetry imports no contracts). */
export interface CallFacts {
  caller: string;
  tool: string;
  status: string;
  createdAt: string;
  startedAt?: string | undefined;
  completedAt?: string | undefined;
  error?: { code: string; deadLettered?: boolean | undefined } | undefined;
}

/** One caller's queue as the gauges read it. */
export interface QueueGauge {
  caller: string;
  /** Jobs waiting to run (waiting, delayed, prioritized). */
  depth(): Promise<number>;
  /** Epoch ms of the oldest job still waiting, or undefined. */
  oldestWaitingAt(): Promise<number | undefined>;
}

/** A Salesforce channel as the lag gauge reads it. */
export interface ChannelGauge {
  org: string;
  channel: string;
  leader: boolean;
  lastEventAt?: string | undefined;
}

const seconds = (fromIso: string | undefined, toMs: number): number | undefined => {
  if (!fromIso) return undefined;
  const from = Date.parse(fromIso);
  return Number.isFinite(from) ? Math.max(0, (toMs - from) / 1000) : undefined;
};

/** Group sizes: up to SALESFORCE_ACCEPT_BATCH, at most 1,000. */
const ACCEPT_GROUP_BUCKETS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000];

/** Latency buckets in seconds: tool calls run from milliseconds to minutes. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

/**
 * The broker's own series (docs/observability.md lists each). Labels are caller ids, tool names
 * and target types from the configuration, bounded by `BoundedLabel`; never a call id.
 */
export class BrokerMetrics {
  readonly #callers: BoundedLabel;
  readonly #tools: BoundedLabel;
  // The target types of the contracts: a closed set, so nothing else is ever learned.
  readonly #targets = new BoundedLabel(writeBackTargetTypes, 0);
  readonly #calls;
  readonly #queueWait;
  readonly #callDuration;
  readonly #writtenBack;
  readonly #retries;
  readonly #rateLimitWaits;
  readonly #deadLetters;
  readonly #tokenRefreshes;
  readonly #writeBackFailures;
  readonly #writeBackAttempts;
  readonly #acceptGroups;
  readonly #meter: Meter;

  constructor(meter: Meter, known: { callers: Iterable<string>; tools?: Iterable<string> }) {
    this.#meter = meter;
    this.#callers = new BoundedLabel(known.callers);
    // Tools are the endpoints' catalog, read at run time: a few are learned, the rest are `other`.
    this.#tools = new BoundedLabel(known.tools ?? [], 200);
    const histogram = (name: string, description: string) =>
      meter.createHistogram(name, { description, unit: 's', advice: { explicitBucketBoundaries: LATENCY_BUCKETS } });
    this.#calls = meter.createCounter('mcpb_tool_calls', {
      description: 'Tool calls that reached a final status, by caller, tool and outcome.',
    });
    this.#queueWait = histogram('mcpb_call_queue_wait_seconds', 'From submission to the worker starting the call.');
    this.#callDuration = histogram('mcpb_call_duration_seconds', 'From the worker starting the call to its outcome.');
    this.#writtenBack = histogram(
      'mcpb_call_written_back_seconds',
      'From submission to a write-back target confirming delivery.',
    );
    this.#retries = meter.createCounter('mcpb_tool_call_retries', {
      description: 'Attempts of a tool call that failed transiently and were queued again.',
    });
    this.#rateLimitWaits = meter.createCounter('mcpb_rate_limit_waits', {
      description: '429 answers from an MCP endpoint the broker waited out (the caller queue paused).',
    });
    this.#deadLetters = meter.createCounter('mcpb_dead_letters', {
      description: 'Tool calls dead-lettered (attempts exhausted or abandoned after stalls).',
    });
    this.#tokenRefreshes = meter.createCounter('mcpb_token_refreshes', {
      description: 'Upstream tokens fetched again because the MCP endpoint refused the cached one.',
    });
    this.#writeBackFailures = meter.createCounter('mcpb_write_back_failures', {
      description: 'Write-back attempts that did not deliver, by target type and whether they will be retried.',
    });
    this.#writeBackAttempts = meter.createCounter('mcpb_write_back_attempts', {
      description: 'Write-back attempts by target type and result.',
    });
    this.#acceptGroups = meter.createHistogram('mcpb_accept_group_size', {
      description:
        'Requests accepted together in one group (platform events, SALESFORCE_ACCEPT_BATCH), by caller: 1 while the source is quiet, larger under a backlog.',
      unit: '{request}',
      advice: { explicitBucketBoundaries: ACCEPT_GROUP_BUCKETS },
    });
  }

  #labels(facts: { caller: string; tool: string }): Attributes {
    return { caller: this.#callers.value(facts.caller), tool: this.#tools.value(facts.tool) };
  }

  /** The worker moved the call to running. */
  callStarted(record: CallFacts, nowMs = Date.now()): void {
    const wait = seconds(record.createdAt, record.startedAt ? Date.parse(record.startedAt) : nowMs);
    if (wait !== undefined) this.#queueWait.record(wait, this.#labels(record));
  }

  /** The call's final status was stored (by the write that made it final). */
  callFinished(record: CallFacts, nowMs = Date.now()): void {
    const deadLettered = record.error?.deadLettered === true;
    const outcome = deadLettered ? 'dead_lettered' : record.status;
    const labels = this.#labels(record);
    this.#calls.add(1, { ...labels, outcome });
    if (deadLettered) this.#deadLetters.add(1, labels);
    if (record.startedAt) {
      const end = record.completedAt ? Date.parse(record.completedAt) : nowMs;
      const duration = seconds(record.startedAt, end);
      if (duration !== undefined) this.#callDuration.record(duration, { ...labels, outcome });
    }
  }

  retry(record: Pick<CallFacts, 'caller' | 'tool'>, code: string): void {
    this.#retries.add(1, { ...this.#labels(record), code: failureCodeLabel(code) });
  }

  rateLimitWait(record: Pick<CallFacts, 'caller' | 'tool'>): void {
    this.#rateLimitWaits.add(1, this.#labels(record));
  }

  /** A group of `size` requests of `caller` was handed to intake together (`AcceptCoalescer`). */
  acceptGroup(caller: string, size: number): void {
    this.#acceptGroups.record(size, { caller: this.#callers.value(caller) });
  }

  tokenRefresh(caller: string, endpoint: string): void {
    this.#tokenRefreshes.add(1, { caller: this.#callers.value(caller), endpoint: boundedEndpoint(endpoint) });
  }

  /** One write-back attempt's result: delivered, pending (retried) or failed (for good). */
  writeBackAttempt(
    record: CallFacts,
    targetType: string,
    result: 'delivered' | 'pending' | 'failed',
    nowMs = Date.now(),
  ) {
    const labels = { caller: this.#callers.value(record.caller), target: this.#targets.value(targetType) };
    this.#writeBackAttempts.add(1, { ...labels, result });
    if (result === 'delivered') {
      const total = seconds(record.createdAt, nowMs);
      if (total !== undefined) this.#writtenBack.record(total, { ...labels, tool: this.#tools.value(record.tool) });
    } else {
      this.#writeBackFailures.add(1, { ...labels, final: result === 'failed' ? 'true' : 'false' });
    }
  }

  /** Queue depth and oldest waiting job per caller, read from Redis at each collection. */
  observeQueues(queues: readonly QueueGauge[]): void {
    const depth = this.#meter.createObservableGauge('mcpb_queue_depth', {
      description: 'Jobs waiting in a caller queue (waiting, delayed, prioritized).',
    });
    const oldest = this.#meter.createObservableGauge('mcpb_queue_oldest_waiting_age_seconds', {
      description: 'Age of the oldest job waiting in a caller queue (0 when empty).',
      unit: 's',
    });
    this.#meter.addBatchObservableCallback(
      async (result) => {
        const now = Date.now();
        await Promise.all(
          queues.map(async (q) => {
            const labels = { caller: this.#callers.value(q.caller) };
            try {
              const [n, at] = await Promise.all([q.depth(), q.oldestWaitingAt()]);
              result.observe(depth, n, labels);
              result.observe(oldest, at === undefined ? 0 : Math.max(0, (now - at) / 1000), labels);
            } catch {
              // Redis down: no sample this round (the readiness probe says why).
            }
          }),
        );
      },
      [depth, oldest],
    );
  }

  /** Seconds since each led Salesforce channel last handled an event (its subscriber lag). */
  observeSalesforceChannels(channels: () => readonly ChannelGauge[], startedAtMs = Date.now()): void {
    const lag = this.#meter.createObservableGauge('mcpb_salesforce_subscriber_lag_seconds', {
      description: 'Seconds since the channel subscriber (the leader replica) last handled an event.',
      unit: 's',
    });
    lag.addCallback((result: ObservableResult) => {
      const now = Date.now();
      for (const c of channels()) {
        if (!c.leader) continue;
        const last = c.lastEventAt ? Date.parse(c.lastEventAt) : startedAtMs;
        result.observe(Math.max(0, (now - last) / 1000), { org: c.org, channel: c.channel });
      }
    });
  }
}

// Failure codes are a closed catalog of upper-case names; anything else is not a code.
function failureCodeLabel(code: string): string {
  return /^[A-Z][A-Z0-9_]{0,63}$/.test(code) ? code : 'OTHER';
}

function boundedEndpoint(endpoint: string): string {
  return /^[A-Za-z0-9._-]{1,64}$/.test(endpoint) ? endpoint : 'other';
}
