import { BrokerError, type Identity } from '@mcp-broker/contracts';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { CoalescedConsumer, type PointOutcome } from './coalesced-consume.ts';
import { requestIdentityKey } from './request-identity-key.ts';

/** A fixed-window quota. */
export interface RateLimitRule {
  /** Calls allowed per window. */
  points: number;
  /** Window length in seconds. */
  windowSeconds: number;
}

export interface RateLimitsOptions {
  redis: Redis;
  /** Redis key prefix, so several deployments or test runs can share one Redis. */
  keyPrefix: string;
  /** Quota for every request of one identity (all tools, all transports). */
  perIdentity: RateLimitRule;
  /** Optional tighter quota per (identity, tool). */
  perTool?: Record<string, RateLimitRule>;
  /** When Redis is unreachable: `closed` refuses with 503 (default), `open` lets calls through. */
  failMode?: 'closed' | 'open';
  logger: Logger;
}

/** Headers from the IETF RateLimit header fields draft, for the policy that was consumed. */
export type RateLimitHeaders = Record<'ratelimit-policy' | 'ratelimit', string>;

/**
 * Per-identity and per-tool quotas kept in Redis, so every replica draws on the same counters.
 */
export class RateLimits {
  readonly #identity: CoalescedConsumer;
  readonly #identityRule: RateLimitRule;
  readonly #tools = new Map<string, { limiter: CoalescedConsumer; rule: RateLimitRule }>();
  readonly #failMode: 'closed' | 'open';
  readonly #logger: Logger;

  constructor(options: RateLimitsOptions) {
    this.#failMode = options.failMode ?? 'closed';
    this.#logger = options.logger;
    this.#identityRule = options.perIdentity;
    const make = (prefix: string, rule: RateLimitRule) =>
      new CoalescedConsumer(
        new RateLimiterRedis({
          storeClient: options.redis,
          keyPrefix: `${options.keyPrefix}rl:${prefix}`,
          points: rule.points,
          duration: rule.windowSeconds,
          rejectIfRedisNotReady: true,
        }),
        rule.points,
      );
    this.#identity = make('id', options.perIdentity);
    for (const [tool, rule] of Object.entries(options.perTool ?? {})) {
      this.#tools.set(tool, { limiter: make(`tool:${tool}`, rule), rule });
    }
  }

  /**
   * Spends one point of the identity's quota; throws 429 (or 503 when Redis is down and closed).
   * Counters are keyed by issuer and subject: equal subjects from two issuers are two callers.
   */
  consumeIdentity(identity: Pick<Identity, 'issuer' | 'subject'>): Promise<RateLimitHeaders | undefined> {
    return this.#consume(this.#identity, this.#identityRule, 'identity', requestIdentityKey(identity));
  }

  /** Spends one point of the (identity, tool) quota when the tool has one. */
  async consumeTool(
    identity: Pick<Identity, 'issuer' | 'subject'>,
    tool: string,
  ): Promise<RateLimitHeaders | undefined> {
    const entry = this.#tools.get(tool);
    if (!entry) return undefined;
    return this.#consume(entry.limiter, entry.rule, `tool:${tool}`, `${requestIdentityKey(identity)}:${tool}`);
  }

  async #consume(
    limiter: CoalescedConsumer,
    rule: RateLimitRule,
    policy: string,
    key: string,
  ): Promise<RateLimitHeaders | undefined> {
    const policyHeader = `"${policy}";q=${rule.points};w=${rule.windowSeconds}`;
    let outcome: PointOutcome;
    try {
      outcome = await limiter.consume(key);
    } catch (err) {
      if (this.#failMode === 'open') {
        this.#logger.warn({ err, policy }, 'rate-limit store unreachable; failing open');
        return undefined;
      }
      this.#logger.error({ err, policy }, 'rate-limit store unreachable; failing closed');
      throw new BrokerError(
        'BROKER_RATE_LIMIT_UNAVAILABLE',
        'Rate limits cannot be checked because their store is unreachable; retry shortly.',
        { headers: { 'retry-after': '5' }, cause: err },
      );
    }
    if (outcome.allowed) {
      return {
        'ratelimit-policy': policyHeader,
        ratelimit: `"${policy}";r=${outcome.remainingPoints};t=${Math.ceil(outcome.msBeforeNext / 1000)}`,
      };
    }
    const retryAfter = Math.max(1, Math.ceil(outcome.msBeforeNext / 1000));
    throw new BrokerError(
      'BROKER_RATE_LIMITED',
      `Rate limit exceeded: ${rule.points} calls per ${rule.windowSeconds} s (${policy}). Retry after ${retryAfter} s.`,
      {
        details: { policy, limit: rule.points, windowSeconds: rule.windowSeconds, retryAfterSeconds: retryAfter },
        headers: {
          'retry-after': String(retryAfter),
          'ratelimit-policy': policyHeader,
          ratelimit: `"${policy}";r=0;t=${retryAfter}`,
        },
      },
    );
  }
}
