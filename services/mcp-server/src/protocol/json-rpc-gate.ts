import { createHash } from 'node:crypto';
import { BrokerError, DEFAULT_MAX_JSON_DEPTH, type ErrorCode, fingerprint, jsonTextDepth } from '@mcp-broker/contracts';
import {
  CallToolRequestSchema,
  CancelledNotificationSchema,
  InitializeRequestSchema,
  JSONRPCNotificationSchema,
  JSONRPCRequestSchema,
  ListToolsRequestSchema,
  PingRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
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

/**
 * The MCP schema of each method's params, as the SDK will read them. A message the SDK cannot read
 * is dropped inside it without an answer (or answered as a crash), so it is refused here instead,
 * the same way on every transport.
 */
const requestSchemas: Record<string, z.ZodType> = {
  initialize: InitializeRequestSchema as unknown as z.ZodType,
  ping: PingRequestSchema as unknown as z.ZodType,
  'tools/list': ListToolsRequestSchema as unknown as z.ZodType,
  'tools/call': CallToolRequestSchema as unknown as z.ZodType,
};
const notificationSchemas: Record<string, z.ZodType> = {
  'notifications/cancelled': CancelledNotificationSchema as unknown as z.ZodType,
};

export type GatedMessage =
  | { kind: 'request'; message: z.infer<typeof request> & { id: string | number } }
  | { kind: 'notification'; message: z.infer<typeof request> }
  | { kind: 'response'; message: z.infer<typeof response> };

/** A `tools/call` the gate refused: enough to audit it (the tool named, a fingerprint of what came). */
export interface RefusedToolCall {
  tool: string;
  argumentsSha256: string;
}

/**
 * A message refused at the gate, carrying its JSON-RPC id when one could be read (so the error
 * answers that id) and, for a `tools/call`, what its audit record needs.
 */
export class RefusedMessage extends BrokerError {
  readonly rpcId: string | number | null;
  readonly toolCall: RefusedToolCall | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: { details?: Record<string, unknown>; rpcId?: string | number | null; toolCall?: RefusedToolCall } = {},
  ) {
    super(code, message, options.details ? { details: options.details } : {});
    this.rpcId = options.rpcId ?? null;
    this.toolCall = options.toolCall;
  }
}

export interface GateLimits {
  /** Deepest array/object nesting of the message; the message itself is depth 1. */
  maxDepth?: number;
}

/**
 * Step 7 of the pipeline, shared by every transport: one JSON-RPC 2.0 message in, or a named error.
 * Batches are refused (the 2025-06-18 revision removed them and Apex/curl callers never send them).
 * The nesting depth is measured on the text before anything parses it: deeper values are how a
 * caller makes recursive code (schema validation, hashing) overflow the stack.
 */
export function gateJsonRpc(raw: string, limits: GateLimits = {}): GatedMessage {
  const maxDepth = limits.maxDepth ?? DEFAULT_MAX_JSON_DEPTH;
  if (jsonTextDepth(raw, maxDepth) > maxDepth) {
    const peeked = peekEnvelope(raw);
    throw new RefusedMessage(
      'BROKER_PAYLOAD_TOO_DEEP',
      `The JSON-RPC message is nested deeper than the limit of ${maxDepth} levels; flatten it.`,
      {
        details: { field: 'body', limitDepth: maxDepth },
        rpcId: peeked.id ?? null,
        ...(peeked.method === 'tools/call'
          ? {
              toolCall: {
                tool: peeked.name ?? '(none)',
                // The arguments were never parsed: the fingerprint is of the body as received.
                argumentsSha256: createHash('sha256').update(raw).digest('hex'),
              },
            }
          : {}),
      },
    );
  }
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
  const rpcId = readableId((value as { id?: unknown }).id);
  if ('method' in value) {
    let m: z.infer<typeof request>;
    if (isPlainEnvelope(value)) m = value;
    else {
      const parsed = request.safeParse(value);
      if (!parsed.success)
        throw refusal('BROKER_JSONRPC_INVALID_REQUEST', 'Invalid Request', parsed.error, value, rpcId);
      m = parsed.data;
    }
    const isRequest = m.id !== undefined;
    const schema = isRequest
      ? (requestSchemas[m.method] ?? JSONRPCRequestSchema)
      : (notificationSchemas[m.method] ?? JSONRPCNotificationSchema);
    const checked = schema.safeParse(value);
    // Each method schema includes the base `_meta` schema (progress token, related task).
    if (!checked.success) throw refusal('BROKER_JSONRPC_INVALID_PARAMS', 'Invalid params', checked.error, value, rpcId);
    return isRequest
      ? { kind: 'request', message: m as typeof m & { id: string | number } }
      : { kind: 'notification', message: m };
  }
  const parsed = response.safeParse(value);
  if (!parsed.success) {
    throw new RefusedMessage(
      'BROKER_JSONRPC_INVALID_REQUEST',
      'Invalid Request: a JSON-RPC 2.0 request needs "jsonrpc": "2.0", "method" and (for a request) "id".',
      { details: { fields: ['method'] }, rpcId },
    );
  }
  return { kind: 'response', message: parsed.data };
}

/**
 * What every well-formed request and notification looks like, checked by hand: the envelope schema
 * (`request`) run through zod cost as much as the method's own schema, on every message. Accepts
 * only what `request` accepts (no other keys, `jsonrpc` "2.0", a string or safe-integer id, a
 * non-empty method, params an object); anything else goes to zod, which decides and names the field.
 */
function isPlainEnvelope(value: object): value is z.infer<typeof request> {
  const v = value as Record<string, unknown>;
  for (const key in v) {
    if (key !== 'jsonrpc' && key !== 'id' && key !== 'method' && key !== 'params') return false;
  }
  if (v.jsonrpc !== '2.0') return false;
  if (v.id !== undefined && typeof v.id !== 'string' && !Number.isSafeInteger(v.id)) return false;
  if (typeof v.method !== 'string' || v.method.length === 0) return false;
  const params = v.params;
  if (params !== undefined && (params === null || typeof params !== 'object' || Array.isArray(params))) return false;
  return Object.getPrototypeOf(value) === Object.prototype;
}

function readableId(value: unknown): string | number | null {
  return typeof value === 'string' || (typeof value === 'number' && Number.isInteger(value)) ? value : null;
}

function refusal(
  code: 'BROKER_JSONRPC_INVALID_REQUEST' | 'BROKER_JSONRPC_INVALID_PARAMS',
  title: string,
  error: z.ZodError | { issues: readonly z.core.$ZodIssue[] },
  value: object,
  rpcId: string | number | null,
): RefusedMessage {
  const fields = error.issues.map((i) => ({ field: fieldPath(i.path) || '(root)', problem: problemOf(i) }));
  const message = value as { method?: unknown; params?: { name?: unknown; arguments?: unknown } };
  return new RefusedMessage(code, `${title}: ${fields.map((f) => `${f.field}: ${f.problem}`).join('; ')}.`, {
    details: { fields },
    rpcId,
    ...(message.method === 'tools/call' ? { toolCall: refusedToolCall(message.params) } : {}),
  });
}

function refusedToolCall(params: { name?: unknown; arguments?: unknown } | undefined): RefusedToolCall {
  const params_ = params && typeof params === 'object' ? params : {};
  return {
    tool: typeof params_.name === 'string' ? params_.name : '(none)',
    argumentsSha256: fingerprint(params_.arguments ?? {}),
  };
}

// `params._meta["io.modelcontextprotocol/related-task"].taskId`: readable, and unambiguous for odd keys.
function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(String(segment))) out += out ? `.${String(segment)}` : String(segment);
    else out += `[${JSON.stringify(String(segment))}]`;
  }
  return out;
}

function problemOf(issue: z.core.$ZodIssue): string {
  if (issue.path.at(-1) === 'progressToken') return 'expected a string or an integer';
  if (issue.code === 'invalid_union') return 'matches none of the allowed types';
  return issue.message.replace(/^Invalid input: /, '');
}

/**
 * Reads the top-level `id` and `method` and `params.name` of JSON text without parsing it (the
 * text is too deep to parse safely and cheaply), so a refusal can still answer the right id and
 * audit the tool named. One pass, no recursion; anything unreadable is left out.
 */
export function peekEnvelope(text: string): { id?: string | number; method?: string; name?: string } {
  const found: { id?: string | number; method?: string; name?: string } = {};
  // Frames only for the two levels that matter; deeper containers are just counted.
  const frames: Array<{ object: boolean; key: string | undefined; expectKey: boolean }> = [];
  let depth = 0;
  const onValue = (v: unknown) => {
    if (depth !== frames.length) return;
    const top = frames.at(-1);
    if (!top?.object) return;
    if (depth === 1) {
      if (top.key === 'id' && readableId(v) !== null) found.id = v as string | number;
      if (top.key === 'method' && typeof v === 'string') found.method = v;
    } else if (depth === 2 && frames[0]?.key === 'params' && top.key === 'name' && typeof v === 'string') {
      found.name = v;
    }
  };
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      let end = i + 1;
      while (end < text.length) {
        const e = text.charCodeAt(end);
        if (e === 0x22) break;
        end += e === 0x5c /* \ */ ? 2 : 1;
      }
      if (depth <= 2) {
        const top = frames.at(-1);
        // Only short strings matter (keys, ids, method and tool names).
        let str: string | undefined;
        if (end - i <= 1024) {
          try {
            str = JSON.parse(text.slice(i, end + 1)) as string;
          } catch {
            str = undefined;
          }
        }
        if (top?.object && top.expectKey && depth === frames.length) {
          top.key = str;
          top.expectKey = false;
        } else onValue(str);
      }
      i = end;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      depth++;
      if (depth <= 2) frames.push({ object: c === 0x7b, key: undefined, expectKey: c === 0x7b });
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      if (depth <= 2) frames.pop();
      depth--;
    } else if (c === 0x2c /* , */) {
      const top = frames.at(-1);
      if (depth <= 2 && top?.object) top.expectKey = true;
    } else if (depth <= 2 && (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39))) {
      let end = i;
      while (end + 1 < text.length && /[0-9eE.+-]/.test(text[end + 1] as string)) end++;
      onValue(Number(text.slice(i, end + 1)));
      i = end;
    }
  }
  return found;
}
