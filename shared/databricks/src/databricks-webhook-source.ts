import { createHash, timingSafeEqual } from 'node:crypto';
import {
  type DatabricksWebhookSourceConfig,
  type DatabricksWorkspaceConfig,
  verifyPassword,
} from '@mcp-broker/broker-config';
import { BrokerError, type DatabricksDoorbellJob, databricksWebhookSchema } from '@mcp-broker/contracts';
import { type DatabricksLogger, silentLogger } from './databricks-logger.ts';
import { doorbellKey, matchingRoutes } from './webhook-routing.ts';

/**
 * The failed-login throttle (ingress's BasicLoginThrottle, an instance of the webhooks' own, apart
 * from the API callers'): bounds the scrypt work of failed attempts; concurrent checks of one
 * credential share one check, and a credential verified before is never refused.
 */
export interface LoginThrottle {
  check<T>(
    attempt: { username: string; address: string | undefined; credential: string },
    verify: () => Promise<T | undefined>,
  ): Promise<
    { outcome: 'verified'; value: T } | { outcome: 'rejected' } | { outcome: 'throttled'; retryAfterSeconds: number }
  >;
}

export interface DoorbellSink {
  enqueue(job: DatabricksDoorbellJob): Promise<'queued' | 'duplicate'>;
}

export interface WebhookSourceOptions {
  sources: readonly DatabricksWebhookSourceConfig[];
  workspaces: readonly DatabricksWorkspaceConfig[];
  doorbells: DoorbellSink;
  throttle: LoginThrottle;
  /** How long verified credentials are remembered (no scrypt per webhook). Default 60 s; 0 to check each time. */
  credentialCacheMs?: number;
  logger?: DatabricksLogger;
  now?: () => number;
}

export interface WebhookDelivery {
  sourceId: string;
  authorization: string | undefined;
  address: string | undefined;
  body: unknown;
  requestId: string;
  traceparent?: string;
}

export interface WebhookAnswer {
  status: 202;
  body: { status: 'accepted' | 'duplicate' | 'skipped'; key?: string; requestId: string };
}

// Verified against for unknown sources and usernames too, so timing tells nothing.
const DUMMY_HASH = 'scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';

const sameText = (a: string, b: string) => {
  const x = createHash('sha256').update(a).digest();
  const y = createHash('sha256').update(b).digest();
  return timingSafeEqual(x, y);
};

const challenge = { 'www-authenticate': 'Basic realm="mcp-broker databricks webhooks", charset="UTF-8"' };

/**
 * Ingress's half of `POST /webhooks/databricks/{source}`. A notification destination sends only a
 * URL and HTTP Basic credentials, so: the credentials are checked against the source's scrypt hash
 * in constant time (failed attempts throttled, apart from the API callers' Basic logins), the payload is
 * validated, the routes are matched (none: a logged skip), and the doorbell is queued in Redis
 * before the answer. The run itself is fetched by the worker: Databricks gets its answer at once,
 * and a Jobs API outage only delays the calls.
 */
export class DatabricksWebhookSource {
  readonly #o: WebhookSourceOptions;
  readonly #sources: Map<string, DatabricksWebhookSourceConfig>;
  readonly #workspaces: Map<string, DatabricksWorkspaceConfig>;
  readonly #verified = new Map<string, number>();
  readonly #logger: DatabricksLogger;
  readonly #now: () => number;

  constructor(options: WebhookSourceOptions) {
    this.#o = options;
    this.#sources = new Map(options.sources.map((s) => [s.id, s]));
    this.#workspaces = new Map(options.workspaces.map((w) => [w.id, w]));
    this.#logger = options.logger ?? silentLogger;
    this.#now = options.now ?? Date.now;
  }

  async receive(delivery: WebhookDelivery): Promise<WebhookAnswer> {
    const source = await this.#authenticate(delivery);
    const parsed = databricksWebhookSchema.safeParse(delivery.body);
    if (!parsed.success) {
      const fields = parsed.error.issues.map((issue) => ({
        field: ['body', ...issue.path.map(String)].join('.'),
        problem: issue.message,
      }));
      throw new BrokerError(
        'BROKER_VALIDATION_FAILED',
        `Invalid Databricks webhook: ${fields.map((f) => `${f.field}: ${f.problem}`).join('; ')}.`,
        { details: { fields } },
      );
    }
    const { event_type, workspace_id, run, job, task } = parsed.data;
    const webhook: DatabricksDoorbellJob['webhook'] = {
      event_type,
      workspace_id,
      run: { run_id: run.run_id, ...(run.parent_run_id ? { parent_run_id: run.parent_run_id } : {}) },
      job: { job_id: job.job_id, name: job.name },
      ...(task ? { task: { task_key: task.task_key } } : {}),
    };
    const key = doorbellKey(webhook);
    const answer = (status: WebhookAnswer['body']['status']): WebhookAnswer => ({
      status: 202,
      body: { status, key, requestId: delivery.requestId },
    });
    const expected = this.#workspaces.get(source.workspace)?.workspaceId;
    if (expected !== undefined && expected !== workspace_id) {
      this.#logger.warn(
        { source: source.id, key, requestId: delivery.requestId, expected },
        'databricks webhook from another workspace: skipped',
      );
      return answer('skipped');
    }
    if (matchingRoutes(source, webhook).length === 0) {
      this.#logger.info(
        { source: source.id, key, requestId: delivery.requestId, job: job.name },
        'databricks webhook matches no route: skipped',
      );
      return answer('skipped');
    }
    let queued: 'queued' | 'duplicate';
    try {
      queued = await this.#o.doorbells.enqueue({
        source: source.id,
        webhook,
        requestId: delivery.requestId,
        ...(delivery.traceparent ? { traceparent: delivery.traceparent } : {}),
        receivedAt: new Date(this.#now()).toISOString(),
      });
    } catch (error) {
      // Not acknowledged, so the workspace delivers it again.
      throw new BrokerError('BROKER_NOT_READY', 'The webhook could not be queued; retry shortly.', {
        headers: { 'retry-after': '5' },
        cause: error,
      });
    }
    this.#logger.info({ source: source.id, key, requestId: delivery.requestId, queued }, 'databricks webhook accepted');
    return answer(queued === 'queued' ? 'accepted' : 'duplicate');
  }

  async #authenticate(delivery: WebhookDelivery): Promise<DatabricksWebhookSourceConfig> {
    const header = delivery.authorization ?? '';
    if (!/^Basic\s+/i.test(header)) {
      throw new BrokerError(
        'BROKER_CREDENTIALS_INVALID',
        'Send the notification destination’s HTTP Basic credentials.',
        {
          headers: challenge,
          details: { reason: 'missing_credentials' },
        },
      );
    }
    const cacheKey = createHash('sha256').update(`${delivery.sourceId}\n${header}`).digest('base64url');
    const cachedUntil = this.#verified.get(cacheKey);
    const source = this.#sources.get(delivery.sourceId);
    if (source && cachedUntil !== undefined && cachedUntil > this.#now()) return source;
    const decoded = Buffer.from(header.replace(/^Basic\s+/i, '').trim(), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const username = colon >= 0 ? decoded.slice(0, colon) : '';
    const password = colon >= 0 ? decoded.slice(colon + 1) : '';
    // Verified against a dummy hash for unknown sources too, so timing tells nothing.
    const result = await this.#o.throttle.check(
      {
        username: `databricks:${delivery.sourceId.slice(0, 64)}:${username}`,
        address: delivery.address,
        credential: cacheKey,
      },
      async () => {
        const passwordOk = await verifyPassword(password, source?.auth.passwordHash ?? DUMMY_HASH);
        return source && sameText(username, source.auth.username) && passwordOk ? source : undefined;
      },
    );
    if (result.outcome === 'throttled') {
      throw new BrokerError(
        'BROKER_AUTH_THROTTLED',
        `Too many failed logins; retry in ${result.retryAfterSeconds} s.`,
        {
          headers: { 'retry-after': String(result.retryAfterSeconds) },
          details: { reason: 'too_many_failures' },
        },
      );
    }
    if (result.outcome === 'rejected') {
      // An unknown source reads as wrong credentials: sources cannot be probed.
      throw new BrokerError('BROKER_CREDENTIALS_INVALID', 'Unknown webhook source, username or password.', {
        headers: challenge,
        details: { reason: 'bad_credentials' },
      });
    }
    const ttl = this.#o.credentialCacheMs ?? 60_000;
    if (ttl > 0) {
      if (this.#verified.size > 1000) this.#verified.clear();
      this.#verified.set(cacheKey, this.#now() + ttl);
    }
    return result.value;
  }
}
