import { createHash } from 'node:crypto';
import { BrokerError } from '@mcp-broker/contracts';

// The store's continuation tokens are its own JSON, and the store trusts them: a forged one made it
// throw (500) or silently start again at the first page. The API hands out its own envelope instead,
// bound to the list and filter it pages, and refuses anything else with a 400 naming the field.

const VERSION = 1;

/** Which list a token pages and with what filter, so a token is never replayed against another query. */
export function pageQueryKey(list: string, filter: Record<string, string | undefined>): string {
  const parts = Object.keys(filter)
    .sort()
    .map((k) => `${k}=${filter[k] ?? ''}`);
  return createHash('sha256')
    .update(`${list}\u0000${parts.join('\u0000')}`)
    .digest('base64url')
    .slice(0, 16);
}

export function encodePageToken(continuation: string, queryKey: string): string {
  return Buffer.from(JSON.stringify({ v: VERSION, q: queryKey, c: continuation })).toString('base64url');
}

/** The store continuation inside a token this API issued for `queryKey`, or a 400 naming `pageToken`. */
export function decodePageToken(token: string, queryKey: string): string {
  let parsed: unknown;
  if (/^[A-Za-z0-9_-]+$/.test(token)) {
    try {
      parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    } catch {
      parsed = undefined;
    }
  }
  const envelope = parsed as { v?: unknown; q?: unknown; c?: unknown } | undefined;
  if (!envelope || typeof envelope !== 'object' || envelope.v !== VERSION || typeof envelope.c !== 'string') {
    throw invalidPageToken('not a page token this API issued');
  }
  if (envelope.q !== queryKey) throw invalidPageToken('issued for a different list or filter');
  return envelope.c;
}

export function invalidPageToken(problem: string): BrokerError {
  const fields = [{ field: 'querystring.pageToken', problem }];
  return new BrokerError(
    'BROKER_VALIDATION_FAILED',
    `Invalid request: querystring.pageToken: ${problem}; pass nextPageToken from the previous page unchanged, or omit it for the first page.`,
    { details: { fields } },
  );
}
