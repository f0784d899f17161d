import type { CallerConfig } from '@mcp-broker/broker-config';
import type { ToolCallRequest } from '@mcp-broker/contracts';
import type { Acceptance, AcceptOptions, ToolCallIntake } from './tool-call-intake.ts';

/** What a source hands its requests to: the intake itself, or an `AcceptCoalescer` in front of it. */
export interface ToolCallAcceptor {
  accept(caller: CallerConfig, request: ToolCallRequest, options?: AcceptOptions): Promise<Acceptance>;
}

interface Waiting {
  request: ToolCallRequest;
  options: AcceptOptions;
  resolve: (acceptance: Acceptance) => void;
  reject: (error: unknown) => void;
}

/**
 * Turns a source's concurrent `accept` calls into groups for `acceptMany` (a micro-batcher), per
 * caller: a request arriving while none of its caller's groups is in flight goes at once, alone;
 * those arriving while one is in flight wait and go together when it ends, up to `maxBatch` in a
 * group (a full group goes at once even while another is in flight). Nobody waits for a timer:
 * under light load every request goes alone, as with `accept`; under load the groups grow by
 * themselves, and each costs about as much as one request.
 *
 * Each call answers what `accept` would have: the acceptance, or a rejection with what `accept`
 * would have thrown (a request `acceptMany` reports `failed`), so the source does not acknowledge
 * it. The other requests of its group are not held back by it.
 */
export class AcceptCoalescer implements ToolCallAcceptor {
  readonly #intake: ToolCallIntake;
  readonly #maxBatch: number;
  readonly #callers = new Map<string, { caller: CallerConfig; waiting: Waiting[]; inFlight: number }>();

  readonly #onGroup: ((callerId: string, size: number) => void) | undefined;

  /** `onGroup` hears of every group sent, alone ones too (the `mcpb_accept_group_size` series). */
  constructor(options: {
    intake: ToolCallIntake;
    maxBatch: number;
    onGroup?: (callerId: string, size: number) => void;
  }) {
    this.#intake = options.intake;
    this.#maxBatch = Math.max(1, Math.floor(options.maxBatch));
    this.#onGroup = options.onGroup;
  }

  accept(caller: CallerConfig, request: ToolCallRequest, options: AcceptOptions = {}): Promise<Acceptance> {
    if (this.#maxBatch === 1) return this.#intake.accept(caller, request, options);
    let state = this.#callers.get(caller.id);
    if (!state) {
      state = { caller, waiting: [], inFlight: 0 };
      this.#callers.set(caller.id, state);
    }
    state.caller = caller;
    // Captured now: the group runs in one context, and each call's add span belongs under its own.
    const withContext = { ...options, traceContext: options.traceContext ?? this.#intake.activeTraceContext() };
    const accepted = new Promise<Acceptance>((resolve, reject) => {
      state.waiting.push({ request, options: withContext, resolve, reject });
    });
    if (state.inFlight === 0 || state.waiting.length >= this.#maxBatch) this.#send(caller.id);
    return accepted;
  }

  #send(callerId: string): void {
    const state = this.#callers.get(callerId);
    if (!state || state.waiting.length === 0) return;
    const group = state.waiting.splice(0, this.#maxBatch);
    this.#onGroup?.(callerId, group.length);
    // The latest configuration of the caller (the object its last request came with).
    const { caller } = state;
    state.inFlight += 1;
    // Under its first request's trace context: a group started when the one before it ended would
    // otherwise inherit that group's context, and every group after the first join the first event's trace.
    const first = group[0] as Waiting;
    const run = this.#intake.withTraceContext(first.options.traceContext, () => this.#run(caller, group));
    void run
      .then(
        (outcomes) => settle(group, outcomes),
        (error) => {
          for (const waiting of group) waiting.reject(error);
        },
      )
      .finally(() => {
        state.inFlight -= 1;
        if (state.inFlight === 0 && state.waiting.length === 0) this.#callers.delete(callerId);
        else if (state.inFlight === 0) this.#send(callerId);
      });
  }
  #run(caller: CallerConfig, group: Waiting[]): Promise<Awaited<ReturnType<ToolCallIntake['acceptMany']>>> {
    return group.length === 1
      ? this.#intake.accept(caller, (group[0] as Waiting).request, (group[0] as Waiting).options).then(
          (acceptance): Parameters<typeof settle>[1] => [acceptance],
          (error): Parameters<typeof settle>[1] => [{ outcome: 'failed', error }],
        )
      : this.#intake.acceptMany(
          caller,
          group.map((w) => w.request),
          group.map((w) => w.options),
        );
  }
}

function settle(group: readonly Waiting[], outcomes: Awaited<ReturnType<ToolCallIntake['acceptMany']>>): void {
  for (const [i, waiting] of group.entries()) {
    const outcome = outcomes[i];
    if (!outcome) waiting.reject(new Error('acceptMany gave no outcome for a request'));
    else if (outcome.outcome === 'failed') waiting.reject(outcome.error);
    else waiting.resolve(outcome);
  }
}
