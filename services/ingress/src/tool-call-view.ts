import type { ToolCallRecord, ToolCallView } from '@mcp-broker/contracts';

/** What a caller sees of a record: no fingerprint, no internal bookkeeping. */
export function toToolCallView(record: ToolCallRecord): ToolCallView {
  return {
    id: record.id,
    tool: record.tool,
    status: record.status,
    ...(record.progress ? { progress: record.progress } : {}),
    ...(record.result === undefined ? {} : { result: record.result, ...flatResult(record.result) }),
    ...(record.error ? { error: record.error } : {}),
    attempts: record.attempts,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    ...(record.startedAt ? { startedAt: record.startedAt } : {}),
    ...(record.completedAt ? { completedAt: record.completedAt } : {}),
    deliveries: record.deliveries.map((d) => ({
      kind: d.target.type,
      type: d.target.type,
      ...('url' in d.target ? { url: d.target.url } : {}),
      ...('org' in d.target ? { org: d.target.org } : {}),
      ...('sobject' in d.target
        ? { objectApiName: d.target.sobject, sobject: d.target.sobject, recordId: d.target.recordId }
        : {}),
      status: d.status,
      attempts: d.attempts,
      ...(d.unconfirmedAttempts ? { unconfirmedAttempts: d.unconfirmedAttempts } : {}),
      ...(d.deliveredAt ? { deliveredAt: d.deliveredAt } : {}),
      ...(d.lastError ? { lastError: d.lastError } : {}),
    })),
    requestId: record.correlation.requestId,
    source: record.source,
  };
}

/**
 * The result as a Flow can use it (External Services maps an untyped value to Apex Object): the
 * structured content as JSON text, the text content, and whether the tool reported an error.
 */
function flatResult(result: unknown): { resultJson: string; resultText?: string; isError?: boolean } {
  const r = (result ?? {}) as { structuredContent?: unknown; content?: unknown; isError?: unknown };
  const texts = Array.isArray(r.content)
    ? r.content
        .filter((c): c is { type: 'text'; text: string } => c?.type === 'text' && typeof c.text === 'string')
        .map((c) => c.text)
    : [];
  return {
    resultJson: JSON.stringify(r.structuredContent ?? result),
    ...(texts.length > 0 ? { resultText: texts.join('\n') } : {}),
    ...(typeof r.isError === 'boolean' ? { isError: r.isError } : {}),
  };
}
