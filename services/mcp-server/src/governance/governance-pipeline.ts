import { BrokerError, type Identity } from '@mcp-broker/contracts';
import { toBrokerError } from '@mcp-broker/runtime';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { jsonRpcErrorEnvelope } from '../protocol/json-rpc-errors.ts';
import { type GatedMessage, gateJsonRpc, RefusedMessage } from '../protocol/json-rpc-gate.ts';
import type { RequestContext, TransportKind } from '../protocol/request-context.ts';
import { type AuditLog, hashArguments } from './audit-log.ts';
import { checkOrigin, listensOnLoopbackOnly } from './origin-check.ts';
import type { RateLimits } from './rate-limits.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the governance pipeline once the caller is authenticated. */
    mcp: { context: RequestContext; gated: GatedMessage | undefined } | undefined;
  }
}

/** Verifies an `Authorization` header value and returns the caller. */
export interface TokenVerifier {
  verify(authorization: string | undefined): Promise<Identity>;
}

export interface GovernanceOptions {
  verifier: TokenVerifier;
  rateLimits: RateLimits;
  allowedOrigins: readonly string[];
  bodyLimit: number;
  /** Deepest JSON nesting of a message (`MAX_JSON_DEPTH`), checked on the text before it is parsed. */
  maxJsonDepth: number;
  /** Where calls refused before the protocol server (too deep, malformed, rate-limited) are audited. */
  audit: AuditLog;
  /** Builds the `WWW-Authenticate` value for a 401. */
  challenge(error: BrokerError): string;
  /** Which transport a route serves, for audit records. */
  transportOf(request: FastifyRequest): TransportKind;
}

/**
 * Steps 2–7 of the governance pipeline for every MCP route in this scope, in order:
 * body limit (while parsing), Origin, bearer token, per-identity rate limit, JSON-RPC validation
 * (nesting depth on the text, one message, params per the MCP schema), per-tool rate limit.
 * Authorization per tool, timeout and audit happen in the protocol server; a `tools/call` refused
 * here, once the caller is known, is audited here. Every rejection is a JSON-RPC error envelope
 * carrying the stable code, the request id and, when it could be read, the message's id.
 */
export function registerGovernance(scope: FastifyInstance, options: GovernanceOptions): void {
  scope.decorateRequest('mcp', undefined);

  // Keep the raw text: JSON-RPC parse errors are reported after authentication (step 7), not before.
  // The shared server's parser would parse first (and refuse before authentication), so replace it here.
  scope.removeContentTypeParser('application/json');
  scope.addContentTypeParser(
    'application/json',
    { parseAs: 'string', bodyLimit: options.bodyLimit },
    (_req, body, done) => done(null, body),
  );

  // What the server listens on is fixed once it listens; reading it per request cost a syscall-backed
  // `address()` per socket. Until it listens (`inject()` in tests) there is nothing to remember.
  let loopbackOnly: boolean | undefined;
  const listensOnLoopback = (request: FastifyRequest): boolean => {
    if (loopbackOnly !== undefined) return loopbackOnly;
    const addresses = request.server.addresses();
    if (addresses.length > 0) loopbackOnly = listensOnLoopbackOnly(addresses);
    return listensOnLoopbackOnly(addresses);
  };

  scope.addHook('preValidation', async (request, reply) => {
    checkOrigin(request.headers.origin, options.allowedOrigins, listensOnLoopback(request));
    let identity: Identity;
    try {
      identity = await options.verifier.verify(request.headers.authorization);
    } catch (err) {
      const brokerError =
        err instanceof BrokerError
          ? err
          : new BrokerError('BROKER_TOKEN_INVALID', 'Token could not be verified.', { cause: err });
      if (brokerError.status === 401) reply.header('www-authenticate', options.challenge(brokerError));
      throw brokerError;
    }
    // Fastify built this child for this request alone: adding the subject to it costs one bindings
    // serialisation, a second child logger per request cost a new pino instance (and its redaction).
    const log = request.log as FastifyBaseLogger & Partial<Pick<Logger, 'setBindings'>>;
    if (log === request.server.log || typeof log.setBindings !== 'function') {
      request.log = log.child({ subject: identity.subject });
    } else log.setBindings({ subject: identity.subject });
    const headers = await options.rateLimits.consumeIdentity(identity);
    if (headers) reply.headers(headers);
    request.mcp = {
      context: {
        identity,
        requestId: request.id,
        traceId: request.trace?.traceId,
        transport: options.transportOf(request),
        protocolVersion: protocolVersionOf(request.headers['mcp-protocol-version']),
      },
      gated: undefined,
    };
  });

  scope.addHook('preHandler', async (request, reply) => {
    if (request.method !== 'POST' || !request.mcp) return;
    if (typeof request.body !== 'string') {
      throw new BrokerError(
        'BROKER_UNSUPPORTED_MEDIA_TYPE',
        'Send the JSON-RPC message with Content-Type: application/json.',
      );
    }
    const { context } = request.mcp;
    // Every tools/call is audited, also one refused before the protocol server could read it.
    const auditRefusal = (tool: string, argumentsSha256: string, err: BrokerError) =>
      options.audit.record({
        identity: context.identity,
        requestId: context.requestId,
        ...(context.traceId ? { traceId: context.traceId } : {}),
        transport: context.transport,
        tool,
        argumentsSha256,
        outcome:
          err.code === 'BROKER_RATE_LIMITED' || err.code === 'BROKER_RATE_LIMIT_UNAVAILABLE'
            ? 'error'
            : 'invalid_arguments',
        errorCode: err.code,
        durationMs: Math.round(reply.elapsedTime * 100) / 100,
      });
    let gated: GatedMessage;
    try {
      gated = gateJsonRpc(request.body, { maxDepth: options.maxJsonDepth });
    } catch (err) {
      if (err instanceof RefusedMessage && err.toolCall)
        auditRefusal(err.toolCall.tool, err.toolCall.argumentsSha256, err);
      throw err;
    }
    request.mcp.gated = gated;
    if (gated.kind === 'request' && gated.message.method === 'tools/call') {
      const tool = gated.message.params?.name;
      if (typeof tool === 'string') {
        try {
          const headers = await options.rateLimits.consumeTool(context.identity, tool);
          if (headers) reply.headers(headers);
        } catch (err) {
          const args = gated.message.params?.arguments;
          auditRefusal(tool, hashArguments(args ?? {}), toBrokerError(err, options.bodyLimit));
          throw err;
        }
      }
    }
  });

  scope.setErrorHandler(async (err, request, reply) => {
    const brokerError = toBrokerError(err, options.bodyLimit);
    if (brokerError.status >= 500) request.log.error({ err }, brokerError.message);
    else request.log.info({ code: brokerError.code }, brokerError.message);
    const id =
      request.mcp?.gated && 'id' in request.mcp.gated.message
        ? (request.mcp.gated.message.id ?? null)
        : err instanceof RefusedMessage
          ? err.rpcId
          : null;
    reply.status(brokerError.status).headers(brokerError.headers);
    return jsonRpcErrorEnvelope(brokerError, request.id, id);
  });
}

/**
 * Hands the raw response to an SDK transport, carrying over the headers the pipeline set
 * (request id, rate-limit headers) that Fastify would otherwise only write on `reply.send`.
 */
export function hijack(reply: FastifyReply): void {
  for (const [name, value] of Object.entries(reply.getHeaders())) {
    if (value !== undefined) reply.raw.setHeader(name, value as string | number | string[]);
  }
  reply.hijack();
}

// Protocol versions are dates; anything else is not a version and is treated as absent.
function protocolVersionOf(header: string | string[] | undefined): string | undefined {
  return typeof header === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(header) ? header : undefined;
}
