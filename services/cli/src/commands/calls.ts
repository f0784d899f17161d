import { type ToolCallView, toolCallListSchema, toolCallViewSchema } from '@mcp-broker/contracts';
import type { BrokerApi } from '../broker-api.ts';
import { type Printer, table } from '../printer.ts';

/** The authenticated caller's own calls, newest first (GET /v1/tool-calls). */
export async function callsList(
  api: BrokerApi,
  printer: Printer,
  filter: { status?: string | undefined; tool?: string | undefined; limit: number },
): Promise<number> {
  const query = new URLSearchParams({ pageSize: String(filter.limit) });
  if (filter.status) query.set('status', filter.status);
  if (filter.tool) query.set('tool', filter.tool);
  const list = await api.request('GET', `/v1/tool-calls?${query}`, toolCallListSchema);
  printer.result(list, (l) =>
    l.items.length === 0
      ? ['No calls.']
      : table(
          ['id', 'tool', 'status', 'attempts', 'created', 'error'],
          l.items.map((c) => [c.id, c.tool, c.status, String(c.attempts), c.createdAt, c.error?.code ?? '']),
        ),
  );
  return 0;
}

/** One call with its result, error and deliveries (GET /v1/tool-calls/{id}). */
export async function callsShow(api: BrokerApi, printer: Printer, id: string): Promise<number> {
  const call = await api.request('GET', `/v1/tool-calls/${encodeURIComponent(id)}`, toolCallViewSchema);
  printer.result(call, describeCall);
  return 0;
}

export function describeCall(c: ToolCallView): string[] {
  return [
    `${c.id}  ${c.tool}  ${c.status}  (attempts ${c.attempts})`,
    `  created ${c.createdAt}${c.completedAt ? `, completed ${c.completedAt}` : ''}, request ${c.requestId}`,
    ...(c.source ? [`  source ${c.source.kind}${c.source.reference ? ` ${c.source.reference}` : ''}`] : []),
    ...(c.error
      ? [`  error ${c.error.code}: ${c.error.message}${c.error.deadLettered ? ' (dead-lettered; replayable)' : ''}`]
      : []),
    ...(c.resultJson !== undefined ? [`  result ${c.resultJson}`] : []),
    ...c.deliveries.map((d) => `  write-back ${JSON.stringify(d)}`),
  ];
}
