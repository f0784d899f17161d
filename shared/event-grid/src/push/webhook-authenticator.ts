import { createHash, timingSafeEqual } from 'node:crypto';
import { createTokenVerifier, type TokenVerifier } from '@mcp-broker/auth';
import type { EventGridPushSubscription } from '@mcp-broker/broker-config';
import { BrokerError } from '@mcp-broker/contracts';

/**
 * Proves a delivery comes from the configured event subscription: Event Grid's Entra delivery
 * auth (a bearer token from the subscription's issuer whose `aud` is the configured app), or the
 * subscription's key in a secret delivery property, compared by hash in constant time.
 */
export class WebhookAuthenticator {
  readonly #subscription: EventGridPushSubscription;
  readonly #verifier: TokenVerifier | undefined;
  readonly #keyHash: Buffer | undefined;

  constructor(subscription: EventGridPushSubscription, options: { fetch?: typeof fetch } = {}) {
    this.#subscription = subscription;
    const { auth } = subscription;
    if (auth.type === 'entra') {
      this.#verifier = createTokenVerifier({
        issuers: [{ issuer: auth.issuer }],
        audience: auth.audience,
        ...(options.fetch ? { fetch: options.fetch } : {}),
      });
    } else {
      this.#keyHash = Buffer.from(auth.keyHash.slice('sha256:'.length), 'hex');
    }
  }

  /** Resolves when the delivery is authentic; throws the BrokerError to answer (401, or 503 when the issuer cannot be reached). */
  async check(headers: Record<string, string | string[] | undefined>): Promise<void> {
    const { auth } = this.#subscription;
    if (auth.type === 'key') {
      const presented = single(headers[auth.header]);
      const hash = createHash('sha256')
        .update(presented ?? '')
        .digest();
      // Compare even when the header is missing, so the answer takes the same time either way.
      const same = this.#keyHash !== undefined && timingSafeEqual(hash, this.#keyHash);
      if (!same || presented === undefined) {
        throw new BrokerError(
          'BROKER_EVENT_GRID_KEY_INVALID',
          presented === undefined
            ? `Event Grid subscription "${this.#subscription.id}" needs its key in the ${auth.header} header.`
            : `The ${auth.header} header does not hold the key of Event Grid subscription "${this.#subscription.id}".`,
          { details: { header: auth.header } },
        );
      }
      return;
    }
    const identity = await (this.#verifier as TokenVerifier).verify(single(headers.authorization));
    if (
      auth.subjects &&
      !auth.subjects.includes(identity.subject) &&
      !auth.subjects.includes(identity.clientAppId ?? '')
    ) {
      throw new BrokerError(
        'BROKER_TOKEN_INVALID',
        `The token's caller is not one Event Grid subscription "${this.#subscription.id}" accepts.`,
        { details: { reason: 'subject_not_allowed' } },
      );
    }
  }
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
