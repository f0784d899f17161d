import type { CallerConfig, EventGridConfig } from '@mcp-broker/broker-config';
import type { TokenProviderOptions } from '@mcp-broker/mcp-client';
import { NamespacePullSource, type PullSourceLogger, type PullSourceStatus } from './pull/namespace-pull-source.ts';
import { EventGridTargetHandler } from './target/event-grid-target.ts';
import type { ToolCallAcceptor } from './tool-call-acceptor.ts';

export interface EventGridWorkerSide {
  /** The `event-grid` target, when topics are configured. */
  writeBackHandlers: EventGridTargetHandler[];
  /** Starts one receive loop per pull subscription. */
  start(): void;
  /** Stops the loops; events in hand are settled first. */
  stop(): Promise<void>;
  status(): PullSourceStatus[];
}

/**
 * What the worker runs for Event Grid: the write-back target and the pull subscriptions. Every
 * replica runs every pull loop: namespace subscriptions are competing consumers (each event is
 * locked to one receiver), so no election is needed, and more replicas drain faster.
 */
export function createEventGridWorkerSide(options: {
  config: EventGridConfig;
  callers: readonly CallerConfig[];
  acceptor: ToolCallAcceptor;
  logger: PullSourceLogger;
  env: Record<string, string | undefined>;
  fetch?: TokenProviderOptions['fetch'];
}): EventGridWorkerSide {
  const { config, env } = options;
  const extra = options.fetch ? { fetch: options.fetch } : {};
  const callers = new Map(options.callers.map((c) => [c.id, c]));
  const sources = config.pull.map((subscription) => {
    const caller = callers.get(subscription.caller);
    if (!caller)
      throw new TypeError(`eventGrid.pull[${subscription.id}].caller: unknown caller "${subscription.caller}"`);
    return new NamespacePullSource({
      subscription,
      caller,
      acceptor: options.acceptor,
      logger: options.logger,
      env,
      ...extra,
    });
  });
  return {
    writeBackHandlers:
      config.topics.length > 0 ? [new EventGridTargetHandler({ topics: config.topics, env, ...extra })] : [],
    start() {
      for (const source of sources) source.start();
    },
    async stop() {
      await Promise.all(sources.map((s) => s.stop()));
    },
    status: () => sources.map((s) => s.status()),
  };
}
