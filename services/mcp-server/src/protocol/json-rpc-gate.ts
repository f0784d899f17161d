import { BrokerError } from '@mcp-broker/contracts';
import { z } from 'zod';

const id = z.union([z.string(), z.number().int()]);
const request = z.strictObject({
  jsonrpc: z.literal('2.0'),
  id: id.optional(),
  method: z.string().min(1),
  params: z.record(z.string(), z.unknown()).optional(),
});
// Clients answer server-initiated requests (none in stateless use, but legal on SSE sessions).
const response = z.union([
  z.strictObject({ jsonrpc: z.literal('2.0'), id, result: z.record(z.string(), z.unknown()) }),
  z.strictObject({
    jsonrpc: z.literal('2.0'),
    id: id.nullable(),
    error: z.object({ code: z.number().int(), message: z.string(), data: z.unknown().optional() }),
  }),
]);

export type GatedMessage =
  | { kind: 'request'; message: z.infer<typeof request> & { id: string | number } }
  | { kind: 'notification'; message: z.infer<typeof request> }
  | { kind: 'response'; message: z.infer<typeof response> };

/**
 * Step 7 of the pipeline, shared by every transport: one JSON-RPC 2.0 message in, or a named error.
 * Batches are refused (the 2025-06-18 revision removed them and Apex/curl callers never send them).
 */
export function gateJsonRpc(raw: string): GatedMessage {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (err) {
    throw new BrokerError(
      'BROKER_JSONRPC_PARSE_ERROR',
      `Parse error: the body is not valid JSON (${(err as Error).message}).`,
    );
  }
  if (Array.isArray(value)) {
    throw new BrokerError(
      'BROKER_JSONRPC_INVALID_REQUEST',
      'JSON-RPC batches are not supported; send one request object per HTTP request.',
    );
  }
  if (value === null || typeof value !== 'object') {
    throw new BrokerError('BROKER_JSONRPC_INVALID_REQUEST', 'Invalid Request: the body must be a JSON-RPC 2.0 object.');
  }
  if ('method' in value) {
    const parsed = request.safeParse(value);
    if (!parsed.success) throw invalid(parsed.error);
    const m = parsed.data;
    return m.id === undefined
      ? { kind: 'notification', message: m }
      : { kind: 'request', message: m as typeof m & { id: string | number } };
  }
  const parsed = response.safeParse(value);
  if (!parsed.success) {
    throw new BrokerError(
      'BROKER_JSONRPC_INVALID_REQUEST',
      'Invalid Request: a JSON-RPC 2.0 request needs "jsonrpc": "2.0", "method" and (for a request) "id".',
      { details: { fields: ['method'] } },
    );
  }
  return { kind: 'response', message: parsed.data };
}

function invalid(error: z.ZodError): BrokerError {
  const fields = error.issues.map((i) => ({ field: i.path.join('.') || '(root)', problem: i.message }));
  return new BrokerError(
    'BROKER_JSONRPC_INVALID_REQUEST',
    `Invalid Request: ${fields.map((f) => `${f.field}: ${f.problem}`).join('; ')}.`,
    { details: { fields } },
  );
}
