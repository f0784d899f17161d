import type { EventGridTopic } from '@mcp-broker/broker-config';
import type { EventGridTarget, ToolCallRecord } from '@mcp-broker/contracts';

/** The CloudEvent a finished call is published as. */
export interface OutcomeCloudEvent {
  id: string;
  type: string;
  source: string;
  subject: string;
  time: Date;
  datacontenttype: 'application/json';
  data: OutcomeData;
  traceparent?: string;
}

export interface OutcomeData {
  callId: string;
  caller: string;
  tool: string;
  status: ToolCallRecord['status'];
  idempotencyKey: string;
  requestId: string;
  completedAt?: string;
  error?: { code: string; message: string };
  /** The tool's result, when its JSON fits `inlineResultMaxBytes`. */
  result?: unknown;
  /** Otherwise where to read it: the call on the broker's API. */
  resultRef?: { callId: string; path: string; bytes: number };
}

/**
 * `<prefix>.toolcall.succeeded` or `.failed` (a cancelled call is failed, with status `cancelled`).
 * The id derives from the call, the target's index and the replay generation, so every attempt at
 * one delivery carries the same id and a subscriber can drop a repeat.
 */
export function outcomeCloudEvent(
  record: ToolCallRecord,
  target: EventGridTarget,
  targetIndex: number,
  topic: EventGridTopic,
): OutcomeCloudEvent {
  const succeeded = record.status === 'succeeded';
  const data: OutcomeData = {
    callId: record.id,
    caller: record.caller,
    tool: record.tool,
    status: record.status,
    idempotencyKey: record.idempotencyKey,
    requestId: record.correlation.requestId,
    ...(record.completedAt ? { completedAt: record.completedAt } : {}),
    ...(record.error ? { error: { code: record.error.code, message: record.error.message } } : {}),
  };
  if (record.result !== undefined) {
    const bytes = Buffer.byteLength(JSON.stringify(record.result));
    if (bytes <= topic.inlineResultMaxBytes) data.result = record.result;
    else data.resultRef = { callId: record.id, path: `/v1/tool-calls/${record.id}`, bytes };
  }
  const traceparent = record.correlation.traceparent;
  return {
    id: `${record.id}.${targetIndex}.${record.replays ?? 0}`,
    type: `${topic.typePrefix}.toolcall.${succeeded ? 'succeeded' : 'failed'}`,
    source: topic.source,
    subject: target.subject ?? record.id,
    time: new Date(record.completedAt ?? record.updatedAt),
    datacontenttype: 'application/json',
    data,
    ...(traceparent ? { traceparent } : {}),
  };
}
