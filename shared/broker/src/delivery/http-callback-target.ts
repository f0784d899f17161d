import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import type { HttpCallbackTarget, ToolCallRecord } from '@mcp-broker/contracts';
import { Deadline, parseRetryAfter } from '@mcp-broker/resilience';
import { SIGNATURE_HEADER, signCallback } from './callback-signature.ts';
import {
  type CallbackPolicy,
  CallbackUrlRejected,
  checkCallbackUrl,
  resolveCallbackAddress,
} from './callback-url-policy.ts';
import { type DeliveryContext, DeliveryError, type WriteBackTargetHandler } from './write-back-target-handler.ts';

export interface HttpCallbackOptions {
  /** The caller's callback policy (allowlist, private addresses). */
  policyFor(caller: string): CallbackPolicy;
  /** The caller's signing secret. */
  secretFor(caller: string): string;
  /** Per-attempt timeout in ms of a target that sets none (`timeoutMs`); default 10,000. */
  timeoutMs?: number;
  /** Clock in seconds, for signatures. */
  nowSeconds?: () => number;
}

/**
 * Names one delivery: the same for every retry of it, different for a replayed call's new result,
 * so a receiver that ignores keys it has seen still gets the replay.
 */
export function deliveryKey(record: ToolCallRecord, targetIndex: number): string {
  return record.replays ? `${record.id}.replay${record.replays}.wb${targetIndex}` : `${record.id}.wb${targetIndex}`;
}

/** The JSON body a callback receives. */
export function callbackPayload(record: ToolCallRecord) {
  return {
    id: record.id,
    status: record.status,
    tool: record.tool,
    idempotencyKey: record.idempotencyKey,
    requestId: record.correlation.requestId,
    ...(record.result === undefined ? {} : { result: record.result }),
    ...(record.error
      ? {
          error: {
            code: record.error.code,
            message: record.error.message,
            ...(record.error.deadLettered ? { deadLettered: true } : {}),
          },
        }
      : {}),
    completedAt: record.completedAt ?? null,
  };
}

/**
 * POSTs the result as signed JSON to an allowlisted URL. The host is resolved and checked at
 * delivery time and the connection is pinned to the checked address. 2xx delivers; 408, 429 and
 * 5xx retry (429 honours Retry-After); other 4xx are final.
 */
export class HttpCallbackHandler implements WriteBackTargetHandler<HttpCallbackTarget> {
  readonly type = 'http-callback' as const;
  readonly #o: HttpCallbackOptions;

  constructor(options: HttpCallbackOptions) {
    this.#o = options;
  }

  timeoutFor(target: HttpCallbackTarget): number {
    return target.timeoutMs ?? this.#o.timeoutMs ?? 10_000;
  }

  async deliver(target: HttpCallbackTarget, { record, targetIndex, signal }: DeliveryContext) {
    const timeoutMs = this.timeoutFor(target);
    const policy = this.#o.policyFor(record.caller);
    let url: URL;
    let address: string;
    try {
      url = checkCallbackUrl(target.url, policy);
      address = await resolveCallbackAddress(url, policy);
    } catch (err) {
      if (err instanceof CallbackUrlRejected)
        throw new DeliveryError('permanent', 'CALLBACK_URL_REJECTED', err.message);
      throw new DeliveryError(
        'transient',
        'CALLBACK_DNS_FAILED',
        `Cannot resolve ${target.url}: ${(err as Error).message}`,
      );
    }
    const body = JSON.stringify(callbackPayload(record));
    const now = this.#o.nowSeconds?.() ?? Math.floor(Date.now() / 1000);
    const headers = {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
      'user-agent': 'mcp-broker-callback/1',
      [SIGNATURE_HEADER]: signCallback(body, this.#o.secretFor(record.caller), now),
      'x-mcp-broker-call-id': record.id,
      // Stable per (call, target): receivers use it to ignore a repeated delivery.
      'idempotency-key': deliveryKey(record, targetIndex),
      'x-request-id': record.correlation.requestId,
    };
    const pinned: LookupFunction = (_host, options, callback) => {
      const family = address.includes(':') ? 6 : 4;
      if ((options as { all?: boolean }).all)
        (callback as (e: null, a: { address: string; family: number }[]) => void)(null, [{ address, family }]);
      else callback(null, address, family);
    };
    // Once the body has gone out the receiver may act on it, whatever happens to the answer.
    let sent = false;
    // The target's own timeout, or the caller's signal (the attempt's budget) if that comes first.
    const deadline = new Deadline(timeoutMs, { outer: signal, what: 'The attempt' });
    const { status, retryAfter } = await new Promise<{ status: number; retryAfter: string | undefined }>(
      (resolve, reject) => {
        const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
        const req = send(url, { method: 'POST', headers, lookup: pinned, signal: deadline.signal }, (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] }));
        });
        req.on('finish', () => {
          sent = true;
        });
        req.on('error', reject);
        req.end(body);
      },
    )
      .catch((err: Error) => {
        if (deadline.signal.aborted) {
          throw new DeliveryError(
            'transient',
            'CALLBACK_TIMEOUT',
            `Callback to ${url.host} gave no answer within ${timeoutMs} ms${sent ? '; it may have been received' : ''}.`,
            undefined,
            { unconfirmed: sent },
          );
        }
        throw new DeliveryError(
          'transient',
          'CALLBACK_UNREACHABLE',
          `Callback to ${url.host} failed: ${err.message}`,
          undefined,
          { unconfirmed: sent },
        );
      })
      .finally(() => deadline.dispose());
    if (status >= 200 && status < 300) return { httpStatus: status };
    if (status === 408 || status === 429 || status >= 500) {
      // A zero wait means "now": the job's own backoff applies instead.
      const waitMs = parseRetryAfter(retryAfter) || undefined;
      throw new DeliveryError(
        'transient',
        'CALLBACK_RETRYABLE_STATUS',
        `Callback to ${url.host} answered ${status}.`,
        waitMs,
      );
    }
    throw new DeliveryError(
      'permanent',
      'CALLBACK_REFUSED',
      `Callback to ${url.host} answered ${status}; not retried.`,
    );
  }
}
