import { BrokerError, isBrokerError, isToolCallId } from '@mcp-broker/contracts';
import { Deadline, raceAbort } from '@mcp-broker/resilience';
import { parseTraceparent } from '@mcp-broker/runtime';
import type { Store } from '@mcp-broker/store';
import { contextFromMeta, SpanKind, setSpanAttributes, withSpan } from '@mcp-broker/telemetry';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import {
  type CallToolRequest,
  CallToolRequestSchema,
  type CallToolResult,
  type InitializeRequest,
  InitializeRequestSchema,
  type InitializeResult,
  ListToolsRequestSchema,
  type ServerNotification,
  type ServerRequest,
} from '@modelcontextprotocol/sdk/types.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';
import type { Logger } from 'pino';
import { type AuditLog, hashArguments } from '../governance/audit-log.ts';
import { assertCanCall } from '../governance/tool-authorization.ts';
import { ToolError } from '../tools/tool-definition.ts';
import type { ToolRegistry } from '../tools/tool-registry.ts';
import { toJsonRpcCode } from './json-rpc-errors.ts';
import { fromAuthInfo, type RequestContext } from './request-context.ts';

type CallToolExtra = RequestHandlerExtra<ServerRequest, ServerNotification>;

export interface ProtocolServerDeps {
  registry: ToolRegistry;
  store: Store;
  audit: AuditLog;
  logger: Logger;
  /** Server name and version announced in `initialize`. */
  info: { name: string; version: string };
}

/**
 * The MCP semantics, shared by every transport: `tools/list` filtered by the caller's permissions,
 * `tools/call` with authorization, argument validation, timeout, cancellation, progress and audit.
 * One instance is cheap; transports create one per connection (or per request when stateless).
 */
// The SDK builds a new Ajv instance per Server unless given one (~0.1 ms of CPU per request here,
// where a Server is made per request); one validator serves them all.
const sharedValidator = new AjvJsonSchemaValidator();

export function createProtocolServer(deps: ProtocolServerDeps): Server {
  const server = new Server(deps.info, {
    jsonSchemaValidator: sharedValidator,
    capabilities: { tools: { listChanged: false } },
    instructions:
      'Governed tools over the enterprise CRM data set. tools/list shows only the tools your identity may call.',
  });

  // The SDK does not keep the version it negotiated; an SSE session's later calls need it (a
  // Streamable HTTP client repeats it in MCP-Protocol-Version on each request instead).
  let negotiatedVersion: string | undefined;
  const sdkInitialize = (
    server as unknown as { _oninitialize(request: InitializeRequest): Promise<InitializeResult> }
  )._oninitialize.bind(server);
  server.setRequestHandler(InitializeRequestSchema, async (request) => {
    const result = await sdkInitialize(request);
    negotiatedVersion = result.protocolVersion;
    return result;
  });

  server.setRequestHandler(ListToolsRequestSchema, async (_request, extra) => {
    const context = requireContext(extra.authInfo);
    return { tools: deps.registry.listFor(context.identity).map((t) => deps.registry.describe(t)) };
  });

  // One span per tools/call (the OpenTelemetry MCP conventions' name and attributes), under the
  // HTTP request's span, or under the trace context in _meta (SEP-414) when no header carried one.
  server.setRequestHandler(CallToolRequestSchema, (request, extra) => {
    const name = request.params.name;
    const known = deps.registry.get(name) !== undefined;
    return withSpan(
      `tools/call ${known ? name : 'unknown'}`,
      {
        kind: SpanKind.SERVER,
        attributes: { 'mcp.method.name': 'tools/call', ...(known ? { 'gen_ai.tool.name': name } : {}) },
        parent: contextFromMeta(request.params._meta as Record<string, unknown> | undefined),
      },
      () => callTool(request, extra),
    );
  });

  const callTool = async (request: CallToolRequest, extra: CallToolExtra): Promise<CallToolResult> => {
    const context = requireContext(extra.authInfo);
    // The dimensions the dashboard query groups by (docs/observability.md).
    setSpanAttributes({ 'mcp.agent.id': context.identity.clientAppId ?? context.identity.subject });
    const started = performance.now();
    const name = request.params.name;
    const args = request.params.arguments ?? {};
    // A pooled client cannot set HTTP headers per call, so the broker sends its trace and call id in
    // _meta; the HTTP traceparent header, when there is one, wins.
    const meta = request.params._meta as Record<string, unknown> | undefined;
    const traceId = context.traceId ?? traceIdFromMeta(meta);
    const brokerCallId = brokerCallIdFromMeta(meta);
    // Built on first use: a call that succeeds without logging (the common case) needs no child
    // logger, and each one costs a pino instance and a pass of the redaction over its bindings.
    let callLog: Logger | undefined;
    const log = () =>
      (callLog ??= deps.logger.child({ requestId: context.requestId, tool: name, subject: context.identity.subject }));
    // Everything the audit record needs is computed before the tool can run: a call whose record
    // cannot be written is refused, never run unaudited.
    let argumentsSha256: string;
    try {
      argumentsSha256 = hashArguments(args);
    } catch (err) {
      log().error({ err }, 'arguments could not be hashed for the audit; call refused');
      throw wireError(
        new BrokerError('BROKER_INTERNAL', `The call could not be audited; quote request id ${context.requestId}.`),
        context.requestId,
      );
    }
    const audit = (outcome: Parameters<AuditLog['record']>[0]['outcome'], errorCode?: string) => {
      setSpanAttributes({ 'mcp.tool.outcome': outcome, ...(errorCode ? { 'error.type': errorCode } : {}) });
      deps.audit.record({
        identity: context.identity,
        requestId: context.requestId,
        ...(traceId ? { traceId } : {}),
        ...(brokerCallId ? { brokerCallId } : {}),
        transport: context.transport,
        tool: name,
        argumentsSha256,
        outcome,
        ...(errorCode ? { errorCode } : {}),
        durationMs: Math.round((performance.now() - started) * 100) / 100,
      });
    };

    const tool = deps.registry.get(name);
    let deadline: Deadline | undefined;
    try {
      if (!tool) {
        throw new BrokerError(
          'BROKER_TOOL_NOT_FOUND',
          `Unknown tool "${name}". Call tools/list for the tools you may use.`,
          {
            details: { tool: name },
          },
        );
      }
      assertCanCall(tool.name, tool.requiredPermissions, context.identity);
      const parsed = tool.inputSchema.safeParse(args);
      if (!parsed.success) {
        const fields = parsed.error.issues.map((i) => ({
          field: i.path.join('.') || '(arguments)',
          problem: i.message,
        }));
        throw new BrokerError(
          'BROKER_INVALID_ARGUMENTS',
          `Invalid arguments for tool "${name}": ${fields.map((f) => `${f.field}: ${f.problem}`).join('; ')}.`,
          { details: { tool: name, fields } },
        );
      }

      // One signal for the tool: aborted by the client's cancellation or by the tool's timeout.
      // (AbortSignal.timeout + AbortSignal.any cost two signals and a weakly held composite per call.)
      deadline = new Deadline(tool.timeoutMs, { outer: extra.signal, what: 'The tool' });
      const { signal } = deadline;
      const progressToken = extra._meta?.progressToken;
      const result = await raceAbort(
        tool.handler(parsed.data, {
          identity: context.identity,
          requestId: context.requestId,
          get logger() {
            return log();
          },
          signal,
          store: deps.store,
          progress: async (update) => {
            if (progressToken === undefined || signal.aborted) return;
            await extra.sendNotification({
              method: 'notifications/progress',
              params: { progressToken, ...update },
            });
          },
        }),
        // A handler that ignores its signal must still not hold the call past its timeout.
        { signal },
      ).catch((err: unknown) => {
        if (deadline?.timedOut && !extra.signal.aborted) {
          throw new BrokerError('BROKER_TOOL_TIMEOUT', `Tool "${name}" exceeded its timeout of ${tool.timeoutMs} ms.`, {
            details: { tool: name, timeoutMs: tool.timeoutMs },
          });
        }
        if (extra.signal.aborted) {
          throw new BrokerError('BROKER_TOOL_CANCELLED', `Tool "${name}" was cancelled by the client.`);
        }
        throw err;
      });
      const text = tool.renderText ? tool.renderText(result) : JSON.stringify(result, null, 2);
      audit('success');
      return { content: [{ type: 'text', text }], structuredContent: result } satisfies CallToolResult;
    } catch (err) {
      if (err instanceof ToolError) {
        audit('tool_error', 'TOOL_ERROR');
        log().info({ reason: err.message }, 'tool returned an error');
        return { content: [{ type: 'text', text: err.message }], isError: true } satisfies CallToolResult;
      }
      const brokerError = isBrokerError(err)
        ? err
        : new BrokerError(
            'BROKER_INTERNAL',
            `Tool "${name}" failed unexpectedly; quote request id ${context.requestId}.`,
            {
              cause: err,
            },
          );
      audit(outcomeFor(brokerError), brokerError.code);
      if (brokerError.code === 'BROKER_INTERNAL') log().error({ err }, 'tool failed');
      // SEP-1303 (2025-11-25): arguments the tool refuses are a result the model can read and fix,
      // not a protocol error; clients that negotiated an older revision keep -32602.
      const version = negotiatedVersion ?? context.protocolVersion ?? ASSUMED_PROTOCOL_VERSION;
      if (brokerError.code === 'BROKER_INVALID_ARGUMENTS' && version >= INVALID_ARGUMENTS_AS_RESULT_SINCE) {
        return {
          content: [{ type: 'text', text: brokerError.message }],
          isError: true,
          _meta: {
            'mcp-broker/error': {
              code: brokerError.code,
              requestId: context.requestId,
              ...(brokerError.details ?? {}),
            },
          },
        } satisfies CallToolResult;
      }
      throw wireError(brokerError, context.requestId);
    } finally {
      deadline?.dispose();
    }
  };

  return server;
}

function requireContext(authInfo: Parameters<typeof fromAuthInfo>[0]): RequestContext {
  const context = fromAuthInfo(authInfo);
  // Every transport attaches the context after authentication; its absence is a wiring bug.
  if (!context) {
    throw new JsonRpcWireError(toJsonRpcCode('BROKER_INTERNAL'), 'Request reached the MCP layer unauthenticated.', {
      code: 'BROKER_INTERNAL',
    });
  }
  return context;
}

/** The revision that made invalid tool arguments a tool result (SEP-1303). Versions are dates. */
const INVALID_ARGUMENTS_AS_RESULT_SINCE = '2025-11-25';
/** What the Streamable HTTP specification says to assume when a client names no version. */
const ASSUMED_PROTOCOL_VERSION = '2025-03-26';

/**
 * An error the SDK sends as a JSON-RPC error (it reads `code`, `message` and `data`). Not the
 * SDK's McpError: its message already carries "MCP error <code>: ", which SDK clients add again,
 * and which plain JSON-RPC callers should not have to strip.
 */
class JsonRpcWireError extends Error {
  readonly code: number;
  readonly data: Record<string, unknown>;

  constructor(code: number, message: string, data: Record<string, unknown>) {
    super(message);
    this.name = 'JsonRpcWireError';
    this.code = code;
    this.data = data;
  }
}

function wireError(err: BrokerError, requestId: string): JsonRpcWireError {
  return new JsonRpcWireError(toJsonRpcCode(err.code), err.message, {
    code: err.code,
    requestId,
    ...(err.details ?? {}),
  });
}

function outcomeFor(err: BrokerError) {
  switch (err.code) {
    case 'BROKER_TOOL_FORBIDDEN':
      return 'forbidden' as const;
    case 'BROKER_INVALID_ARGUMENTS':
    case 'BROKER_TOOL_NOT_FOUND':
      return 'invalid_arguments' as const;
    case 'BROKER_TOOL_TIMEOUT':
      return 'timeout' as const;
    case 'BROKER_TOOL_CANCELLED':
      return 'cancelled' as const;
    default:
      return 'error' as const;
  }
}

function traceIdFromMeta(meta: Record<string, unknown> | undefined): string | undefined {
  const value = meta?.traceparent;
  return typeof value === 'string' ? parseTraceparent(value)?.traceId : undefined;
}

function brokerCallIdFromMeta(meta: Record<string, unknown> | undefined): string | undefined {
  const value = meta?.['mcp-broker/callId'];
  return isToolCallId(value) ? value : undefined;
}
