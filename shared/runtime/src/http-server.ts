import {
  BrokerError,
  DEFAULT_MAX_JSON_DEPTH,
  type ErrorBody,
  isBrokerError,
  jsonTextDepth,
  tooDeepError,
} from '@mcp-broker/contracts';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyRequest, LogController } from 'fastify';
import type { Logger } from 'pino';
import { isDependencyUnavailable } from './dependency-unavailable.ts';
import { scrubSecrets } from './logger.ts';
import { parseTraceparent, resolveRequestId, type TraceContext } from './request-id.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** W3C trace context from `traceparent`, when the caller sent a valid one. */
    trace: TraceContext | undefined;
  }
}

/** A dependency the readiness probe checks; it throws (or rejects) when not ready. */
export type ReadinessCheck = () => Promise<void>;

export interface HttpServerOptions {
  logger: Logger;
  /** Largest accepted request body in bytes; default 1 MiB. */
  bodyLimit?: number;
  /** Named dependency checks for `GET /readyz`. */
  readiness?: Record<string, ReadinessCheck>;
  /** Trust `X-Forwarded-*` from a proxy (APIM, ingress controller); default false. */
  trustProxy?: boolean;
  /** Deepest JSON nesting a body may have (refused as text, before parsing); default 64. */
  maxJsonDepth?: number;
}

export const DEFAULT_BODY_LIMIT = 1024 * 1024;
/** Longest path parameter (an id) the router matches; Fastify's default. */
const MAX_PARAM_LENGTH = 100;

/**
 * Converts any error thrown in a route or hook to a BrokerError, so every service maps errors in
 * one place and every rejection names its limit or field.
 */
export function toBrokerError(err: unknown, bodyLimit: number): BrokerError {
  if (isBrokerError(err)) return err;
  const fe = err as Partial<FastifyError>;
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new BrokerError('BROKER_BODY_TOO_LARGE', `Request body exceeds the limit of ${bodyLimit} bytes.`, {
        details: { limitBytes: bodyLimit },
      });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new BrokerError('BROKER_UNSUPPORTED_MEDIA_TYPE', 'Unsupported Content-Type; send application/json.');
    // The router's own refusals: their default bodies echo the whole path and skip the error handler.
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new BrokerError(
        'BROKER_URI_TOO_LONG',
        `A path segment is longer than the limit of ${MAX_PARAM_LENGTH} characters.`,
        { details: { limitChars: MAX_PARAM_LENGTH } },
      );
    case 'FST_ERR_BAD_URL':
      return new BrokerError(
        'BROKER_VALIDATION_FAILED',
        'Invalid request: path: not a valid URL (bad percent-encoding).',
        {
          details: { fields: [{ field: 'path', problem: 'bad percent-encoding' }] },
        },
      );
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new BrokerError('BROKER_MALFORMED_JSON', 'Request body is not valid JSON.');
  }
  const validation = (err as { validation?: Array<{ instancePath?: string; message?: string; params?: unknown }> })
    .validation;
  if (Array.isArray(validation)) {
    const context = (err as { validationContext?: string }).validationContext ?? 'body';
    const fields = validation.map((v) => ({
      field: `${context}${(v.instancePath ?? '').replace(/\//g, '.')}` || context,
      problem: v.message ?? 'invalid',
    }));
    return new BrokerError(
      'BROKER_VALIDATION_FAILED',
      `Invalid request: ${fields.map((f) => `${f.field}: ${f.problem}`).join('; ')}.`,
      { details: { fields } },
    );
  }
  if (fe.statusCode === 400 && fe.message) {
    return new BrokerError('BROKER_JSONRPC_INVALID_REQUEST', fe.message);
  }
  if (isDependencyUnavailable(err)) {
    return new BrokerError(
      'BROKER_NOT_READY',
      'The store or Redis did not answer; nothing was done. Retry after the Retry-After delay.',
      { headers: { 'retry-after': '5' }, cause: err },
    );
  }
  return new BrokerError('BROKER_INTERNAL', 'Internal server error.', { cause: err });
}

export function errorBody(err: BrokerError, requestId: string): ErrorBody {
  return {
    error: { code: err.code, message: err.message, requestId, ...(err.details ? { details: err.details } : {}) },
  };
}

/**
 * Fastify with the behaviour every service shares: request ids (accepted or minted, echoed on
 * every response, on every log line), trace context, body limit, uniform error bodies,
 * `GET /healthz` (liveness) and `GET /readyz` (dependencies).
 */
export function buildHttpServer(options: HttpServerOptions): FastifyInstance {
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const app = Fastify({
    loggerInstance: options.logger,
    bodyLimit,
    trustProxy: options.trustProxy ?? false,
    requestIdHeader: false,
    logController: new LogController({ requestIdLogLabel: 'requestId', disableRequestLogging: true }),
    genReqId: (req) => resolveRequestId(req.headers['x-request-id']),
    return503OnClosing: true,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    frameworkErrors: (err, request, reply) => {
      const brokerError = toBrokerError(err, bodyLimit);
      request.log.info({ code: brokerError.code }, brokerError.message);
      // Typed loosely: no route schema exists yet when the router refuses a URL.
      (reply as unknown as { code(s: number): { header(k: string, v: string): { send(b: unknown): void } } })
        .code(brokerError.status)
        .header('x-request-id', request.id)
        .send(errorBody(brokerError, request.id));
    },
  }) as unknown as FastifyInstance;

  // Fastify parses text/plain by default; a JSON API should refuse it (415), not report a
  // string body as a validation problem.
  app.removeContentTypeParser('text/plain');
  // Depth is checked on the text, so no recursive code (the parser included) ever sees a body
  // nested deep enough to overflow the stack; the default parser keeps prototype-poisoning checks.
  const maxJsonDepth = options.maxJsonDepth ?? DEFAULT_MAX_JSON_DEPTH;
  const defaultJsonParser = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (jsonTextDepth(body as string, maxJsonDepth) > maxJsonDepth) {
      done(tooDeepError('The request body', maxJsonDepth), undefined);
      return;
    }
    defaultJsonParser(request, body as string, done);
  });
  app.decorateRequest('trace', undefined);
  app.addHook('onRequest', async (request, reply) => {
    request.trace = parseTraceparent(request.headers.traceparent);
    reply.header('x-request-id', request.id);
    refuseRepeatedSingletonHeaders(request.raw.rawHeaders);
  });
  app.addHook('onResponse', async (request, reply) => {
    request.log.info(
      { method: request.method, url: routeForLog(request), statusCode: reply.statusCode, ms: reply.elapsedTime },
      'request completed',
    );
  });

  app.setErrorHandler(async (err, request, reply) => {
    const brokerError = toBrokerError(err, bodyLimit);
    if (brokerError.status >= 500) request.log.error({ err }, brokerError.message);
    else request.log.info({ code: brokerError.code }, brokerError.message);
    reply.status(brokerError.status).headers(brokerError.headers);
    return errorBody(brokerError, request.id);
  });
  app.setNotFoundHandler(async (request, reply) => {
    reply.status(404);
    return errorBody(
      // The path is echoed only as far as a person needs to recognise it.
      new BrokerError('BROKER_NOT_FOUND', `No route for ${request.method} ${routeForLog(request).slice(0, 200)}.`),
      request.id,
    );
  });

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (request, reply) => {
    const checks: Record<string, string> = {};
    const reasons: Record<string, string> = {};
    let ready = true;
    await Promise.all(
      Object.entries(options.readiness ?? {}).map(async ([name, check]) => {
        try {
          await check();
          checks[name] = 'ok';
        } catch (err) {
          ready = false;
          checks[name] = 'unavailable';
          reasons[name] = readinessReason(err);
          request.log.warn({ err, check: name }, 'readiness check failed');
        }
      }),
    );
    reply.status(ready ? 200 : 503);
    return { status: ready ? 'ready' : 'not_ready', checks, ...(ready ? {} : { reasons }) };
  });
  return app;
}

// An operator reading the probe needs the why ("Redis connection is reconnecting"), never a
// credential the message may carry or a stack.
function readinessReason(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return scrubSecrets(message.split('\n')[0] ?? '').slice(0, 200) || 'check failed';
}

/**
 * Node keeps the first of two `Authorization` headers and drops the second, so a proxy that
 * checked one token and a service that reads another could disagree about the caller. A request
 * that carries the header twice is ambiguous: refuse it (400) rather than guess.
 */
const singletonHeaders = ['authorization'] as const;

function refuseRepeatedSingletonHeaders(rawHeaders: readonly string[]): void {
  for (const name of singletonHeaders) {
    let count = 0;
    for (let i = 0; i < rawHeaders.length; i += 2) {
      if (rawHeaders[i]?.toLowerCase() === name) count += 1;
    }
    if (count > 1) {
      throw new BrokerError(
        'BROKER_VALIDATION_FAILED',
        `Invalid request: the Authorization header was sent ${count} times; send exactly one.`,
        { details: { fields: [{ field: `headers.${name}`, problem: `sent ${count} times; send exactly one` }] } },
      );
    }
  }
}

// Query strings can hold session ids or signed-link signatures; log the path only.
function routeForLog(request: FastifyRequest): string {
  return request.url.split('?')[0] ?? request.url;
}
