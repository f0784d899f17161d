import { bullPrefix, toolCallQueueName, WRITE_BACK_QUEUE } from '@mcp-broker/broker';
import type { BrokerConfig } from '@mcp-broker/broker-config';
import { deadLetterListSchema } from '@mcp-broker/contracts';
import { leaseKey } from '@mcp-broker/salesforce-events';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { BrokerApi } from '../broker-api.ts';
import { type Printer, table } from '../printer.ts';

const STATES = ['waiting', 'prioritized', 'active', 'delayed', 'failed'] as const;

export interface QueueDepth {
  queue: string;
  caller?: string;
  paused: boolean;
  counts: Record<(typeof STATES)[number], number>;
}

export interface ChannelView {
  org: string;
  channel: string;
  /** A replica holds the subscriber lease (someone is subscribed). */
  subscribed: boolean;
  leaseMsLeft?: number;
  /** From the worker's /status, when --worker-url is given: the replica's view of the subscriber. */
  worker?: Record<string, unknown>;
}

export interface BrokerStatus {
  keyPrefix: string;
  queues: QueueDepth[];
  /** Dead-lettered calls (from the ingress admin API); absent without admin credentials. */
  deadLetters?: { count: number; more: boolean; byCaller: Record<string, number> };
  deadLettersNote?: string;
  salesforce: ChannelView[];
}

export interface StatusDependencies {
  config: BrokerConfig;
  redis: Redis;
  /** Overrides `broker.keyPrefix` (a deployment still on the deprecated REDIS_KEY_PREFIX). */
  keyPrefix?: string | undefined;
  api?: BrokerApi | undefined;
  /** The worker's health port (`HEALTH_PORT`), for the subscribers' replay ids and last events. */
  workerUrl?: string | undefined;
  fetch?: typeof fetch;
}

/** Dead letters counted up to this many pages of 200: enough to see a backlog, bounded for a big one. */
const DEAD_LETTER_PAGES = 5;

/** Queue depths per caller and the write-backs (read from Redis), dead letters, Salesforce subscribers. */
export async function readStatus(deps: StatusDependencies): Promise<BrokerStatus> {
  const keyPrefix = deps.keyPrefix ?? deps.config.broker.keyPrefix;
  const names = [
    ...deps.config.callers.map((c) => ({ queue: toolCallQueueName(c.id), caller: c.id })),
    { queue: WRITE_BACK_QUEUE },
  ];
  const queues = await Promise.all(
    names.map(async (n) => {
      const queue = new Queue(n.queue, { connection: deps.redis, prefix: bullPrefix(keyPrefix) });
      try {
        const [counts, paused] = await Promise.all([queue.getJobCounts(...STATES), queue.isPaused()]);
        return { ...n, paused, counts: counts as QueueDepth['counts'] };
      } finally {
        await queue.close();
      }
    }),
  );
  const workerChannels = deps.workerUrl ? await workerSalesforce(deps.workerUrl, deps.fetch ?? fetch) : [];
  const salesforce = await Promise.all(
    deps.config.salesforce.orgs.flatMap((org) =>
      org.channels.map(async ({ channel }) => {
        const ttl = await deps.redis.pttl(leaseKey(keyPrefix, org.id, channel));
        const worker = workerChannels.find((c) => c.org === org.id && c.channel === channel);
        return {
          org: org.id,
          channel,
          subscribed: ttl > 0,
          ...(ttl > 0 ? { leaseMsLeft: ttl } : {}),
          ...(worker ? { worker } : {}),
        };
      }),
    ),
  );
  const status: BrokerStatus = { keyPrefix, queues, salesforce };
  if (deps.api) status.deadLetters = await countDeadLetters(deps.api);
  else status.deadLettersNote = 'set MCP_BROKER_USER/MCP_BROKER_PASSWORD (an admin caller) to count dead letters';
  return status;
}

async function countDeadLetters(api: BrokerApi): Promise<NonNullable<BrokerStatus['deadLetters']>> {
  const byCaller: Record<string, number> = {};
  let count = 0;
  let pageToken: string | undefined;
  for (let page = 0; page < DEAD_LETTER_PAGES; page++) {
    const list = await api.request(
      'GET',
      `/v1/dead-letters?pageSize=200${pageToken ? `&pageToken=${encodeURIComponent(pageToken)}` : ''}`,
      deadLetterListSchema,
    );
    for (const item of list.items) byCaller[item.caller] = (byCaller[item.caller] ?? 0) + 1;
    count += list.items.length;
    pageToken = list.nextPageToken;
    if (!pageToken) break;
  }
  return { count, more: pageToken !== undefined, byCaller };
}

async function workerSalesforce(
  workerUrl: string,
  fetcher: typeof fetch,
): Promise<Array<{ org: string; channel: string } & Record<string, unknown>>> {
  const res = await fetcher(`${workerUrl.replace(/\/+$/, '')}/status`, { signal: AbortSignal.timeout(5000) });
  if (!res.ok) throw new Error(`The worker's /status at ${workerUrl} answered ${res.status}.`);
  const body = (await res.json()) as { salesforce?: Array<{ org: string; channel: string } & Record<string, unknown>> };
  return body.salesforce ?? [];
}

export function printStatus(status: BrokerStatus, printer: Printer): void {
  printer.result(status, (s) => {
    const lines = [`Queues (key prefix ${s.keyPrefix}):`];
    lines.push(
      ...table(
        ['queue', ...STATES, ''],
        s.queues.map((q) => [
          q.queue,
          ...STATES.map((state) => String(q.counts[state] ?? 0)),
          q.paused ? 'PAUSED' : '',
        ]),
      ).map((l) => `  ${l}`),
    );
    lines.push('');
    if (s.deadLetters) {
      const per = Object.entries(s.deadLetters.byCaller)
        .map(([caller, n]) => `${caller} ${n}`)
        .join(', ');
      lines.push(`Dead letters: ${s.deadLetters.count}${s.deadLetters.more ? '+' : ''}${per ? ` (${per})` : ''}`);
    } else lines.push(`Dead letters: unknown (${s.deadLettersNote})`);
    lines.push('');
    if (s.salesforce.length === 0) lines.push('Salesforce channels: none configured');
    else {
      lines.push('Salesforce channels:');
      for (const c of s.salesforce) {
        const w = c.worker;
        const detail = w
          ? `, last replay id ${w.lastReplayId ?? '-'}, last event ${w.lastEventAt ?? 'never'}, ${w.eventsProcessed ?? 0} handled`
          : '';
        lines.push(
          `  ${c.org} ${c.channel}: ${c.subscribed ? `subscribed (lease ${Math.round((c.leaseMsLeft ?? 0) / 1000)} s left)` : 'NO SUBSCRIBER'}${detail}`,
        );
      }
    }
    return lines;
  });
}
