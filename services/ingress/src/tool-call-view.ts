import type { ToolCallRecord, ToolCallView } from '@mcp-broker/contracts';

/** What a caller sees of a record: no fingerprint, no internal bookkeeping. */
export function toToolCallView(record: ToolCallRecord): ToolCallView {
  return {
    id: record.id,
    tool: record.tool,
    status: record.status,
    ...(record.progress ? { progress: record.progress } : {}),
    ...(record.result === undefined ? {} : { result: record.result }),
    ...(record.error ? { error: record.error } : {}),
    attempts: record.attempts,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    ...(record.startedAt ? { startedAt: record.startedAt } : {}),
    ...(record.completedAt ? { completedAt: record.completedAt } : {}),
    deliveries: record.deliveries.map((d) => ({
      type: d.target.type,
      ...('url' in d.target ? { url: d.target.url } : {}),
      ...('org' in d.target ? { org: d.target.org } : {}),
      ...('sobject' in d.target ? { sobject: d.target.sobject, recordId: d.target.recordId } : {}),
      status: d.status,
      attempts: d.attempts,
      ...(d.deliveredAt ? { deliveredAt: d.deliveredAt } : {}),
      ...(d.lastError ? { lastError: d.lastError } : {}),
    })),
    requestId: record.correlation.requestId,
    source: record.source,
  };
}
