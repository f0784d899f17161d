import { deadLetterListSchema, replayDeadLettersResultSchema, toolCallViewSchema } from '@mcp-broker/contracts';
import type { BrokerApi } from '../broker-api.ts';
import { type Printer, table } from '../printer.ts';
import { describeCall } from './calls.ts';

/** Dead-lettered calls of every caller, or of one, newest first (admin: GET /v1/dead-letters). */
export async function deadLettersList(
  api: BrokerApi,
  printer: Printer,
  filter: { caller?: string | undefined; limit: number },
): Promise<number> {
  const items: Array<{
    id: string;
    caller: string;
    tool: string;
    createdAt: string;
    error?: { code: string; message: string } | undefined;
  }> = [];
  let pageToken: string | undefined;
  do {
    const query = new URLSearchParams({ pageSize: String(Math.min(200, filter.limit - items.length)) });
    if (filter.caller) query.set('caller', filter.caller);
    if (pageToken) query.set('pageToken', pageToken);
    const page = await api.request('GET', `/v1/dead-letters?${query}`, deadLetterListSchema);
    items.push(...page.items);
    pageToken = page.nextPageToken;
  } while (pageToken && items.length < filter.limit);
  const result = { items, more: pageToken !== undefined };
  printer.result(result, (r) =>
    r.items.length === 0
      ? ['No dead letters.']
      : [
          ...table(
            ['id', 'caller', 'tool', 'created', 'error'],
            r.items.map((d) => [
              d.id,
              d.caller,
              d.tool,
              d.createdAt,
              d.error ? `${d.error.code}: ${d.error.message}` : '',
            ]),
          ),
          ...(r.more ? [`(more than ${r.items.length}; raise --limit)`] : []),
        ],
  );
  return 0;
}

/** Queues one dead-lettered call again (admin: POST /v1/dead-letters/{id}/replay). */
export async function replayOne(api: BrokerApi, printer: Printer, id: string): Promise<number> {
  const call = await api.request('POST', `/v1/dead-letters/${encodeURIComponent(id)}/replay`, toolCallViewSchema);
  printer.result(call, (c) => [`replayed: ${c.id} is ${c.status} again`, ...describeCall(c).slice(1)]);
  return 0;
}

/**
 * Queues every dead letter of a caller again, 100 per request, each request continuing below the
 * horizon (`before`) of the first: calls dead-lettered meanwhile are left for the next run.
 */
export async function replayAll(api: BrokerApi, printer: Printer, caller: string, max: number): Promise<number> {
  let replayed = 0;
  let skipped = 0;
  const ids: string[] = [];
  let before: string | undefined;
  let more = true;
  while (more && replayed < max) {
    const step = await api.request('POST', '/v1/dead-letters/replay', replayDeadLettersResultSchema, {
      body: { caller, maxCalls: Math.min(100, max - replayed), ...(before ? { before } : {}) },
    });
    replayed += step.replayed;
    skipped += step.skipped;
    ids.push(...step.replayedIds);
    before = step.before;
    more = step.more;
    if (step.replayed === 0 && step.skipped === 0) break;
  }
  printer.result({ caller, replayed, skipped, replayedIds: ids, more }, (r) => [
    `replayed ${r.replayed} dead letter(s) of ${r.caller}${r.skipped ? `, ${r.skipped} skipped (replayed by someone else)` : ''}${r.more ? '; more remain (run again or raise --max)' : ''}`,
  ]);
  return 0;
}
