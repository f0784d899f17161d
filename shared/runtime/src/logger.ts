import { trace } from '@opentelemetry/api';
import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

/** Paths pino blanks out wherever they appear in a log object. */
export const redactedPaths = [
  'authorization',
  'headers.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["ocp-apim-subscription-key"]',
  'res.headers["set-cookie"]',
  '*.authorization',
  '*.Authorization',
  'token',
  '*.token',
  '*.accessToken',
  '*.access_token',
  '*.refreshToken',
  '*.refresh_token',
  '*.clientSecret',
  '*.client_secret',
  '*.password',
  '*.secret',
  '*.apiKey',
  '*.subscriptionKey',
  '*.key',
  '*.assertion',
];

export interface LoggerConfig {
  /** pino level; default `info`. */
  level?: string;
  /** Service name written on every line. */
  name: string;
  /** Where lines go; default stdout. Tests pass a stream to inspect output. */
  destination?: DestinationStream;
}

// Bearer tokens and JWTs that slip into free-text messages (error strings from libraries).
const BEARER = /\b(Bearer\s+)[A-Za-z0-9\-._~+/]+=*/gi;
const JWT = /\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g;

/** Replaces bearer tokens and JWT-shaped strings in free text with `[REDACTED]`. */
// Credentials in a URL's userinfo (redis://:password@host, https://user:pass@host).
const URL_CREDENTIALS = /(\b[a-z][a-z0-9+.-]*:\/\/)[^\s/@]*@/gi;

export function scrubSecrets(text: string): string {
  return text.replace(BEARER, '$1[REDACTED]').replace(JWT, '[REDACTED]').replace(URL_CREDENTIALS, '$1[REDACTED]@');
}

export function createLogger(config: LoggerConfig): Logger {
  const options: LoggerOptions = {
    name: config.name,
    level: config.level ?? 'info',
    redact: { paths: redactedPaths, censor: '[REDACTED]' },
    // Joins a line to its trace; with telemetry off there is no active span and nothing is added.
    mixin: traceLogFields,
    hooks: {
      // Free-text messages can carry a token a library echoed; structured fields are covered by redact.
      logMethod(args, method) {
        const scrubbed = args.map((a) => (typeof a === 'string' ? scrubSecrets(a) : a)) as typeof args;
        method.apply(this, scrubbed);
      },
    },
    serializers: {
      err: (err: unknown) => {
        const s = pino.stdSerializers.err(err as Error);
        if (s && typeof s.message === 'string') s.message = scrubSecrets(s.message);
        if (s && typeof s.stack === 'string') s.stack = scrubSecrets(s.stack);
        return s;
      },
    },
  };
  return config.destination ? pino(options, config.destination) : pino(options);
}

/** The active span's ids for a log line (`trace_id`, `span_id`), or nothing. */
export function traceLogFields(): { trace_id?: string; span_id?: string } {
  const span = trace.getActiveSpan();
  if (!span) return {};
  const context = span.spanContext();
  if (!trace.isSpanContextValid(context)) return {};
  return { trace_id: context.traceId, span_id: context.spanId };
}
