import { trace } from '@opentelemetry/api';
import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

/**
 * Fields whose value is a secret wherever they appear in a log object, request headers included,
 * compared lower-cased with `-` and `_` removed (`client_secret`, `clientSecret` and `Client-Secret`
 * are one name).
 */
const SECRET_FIELDS = new Set([
  'authorization',
  'proxyauthorization',
  'cookie',
  'setcookie',
  'xapikey',
  'apikey',
  'ocpapimsubscriptionkey',
  'subscriptionkey',
  'aegsaskey',
  'aegsastoken',
  'key',
  'accesskey',
  'accountkey',
  'sharedaccesskey',
  'primarykey',
  'secondarykey',
  'masterkey',
  'assertion',
  'clientassertion',
  'connectionstring',
  'credentials',
  'privatekey',
  'sas',
  'sig',
]);
/** Endings that make a field secret whatever comes before (`accessToken`, `signingSecret`, `redisPassword`). */
const SECRET_ENDINGS = ['token', 'secret', 'password', 'passwd', 'apikey', 'connectionstring', 'signature'];
const CENSOR = '[REDACTED]';
// Log objects are a few levels deep; anything deeper is replaced rather than walked (and a cycle ends here).
const MAX_DEPTH = 8;

/** Whether a field of this name holds a secret (see SECRET_FIELDS). */
export function isSecretField(name: string): boolean {
  const n = name.toLowerCase().replace(/[-_]/g, '');
  if (SECRET_FIELDS.has(n)) return true;
  for (const ending of SECRET_ENDINGS) if (n.endsWith(ending)) return true;
  return false;
}

export interface LoggerConfig {
  /** pino level; default `info`. */
  level?: string;
  /** Service name written on every line. */
  name: string;
  /** Where lines go; default stdout. Tests pass a stream to inspect output. */
  destination?: DestinationStream;
}

// Bearer/Basic credentials and JWTs that slip into free text (error strings from libraries).
const BEARER = /\b((?:Bearer|Basic)\s+)[A-Za-z0-9\-._~+/]+=*/gi;
const JWT = /\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g;
// Credentials in a URL's userinfo (redis://:password@host, https://user:pass@host).
const URL_CREDENTIALS = /(\b[a-z][a-z0-9+.-]*:\/\/)[^\s/@]*@/gi;
// Azure connection strings (Service Bus, Event Grid, Storage, Cosmos) and SAS query parameters.
const KEY_VALUE = /\b((?:SharedAccessKey|AccountKey|SharedAccessSignature|sig|aeg-sas-key|aeg-sas-token)=)[^;&\s"']+/gi;

/** Replaces bearer/Basic credentials, JWTs, URL userinfo and connection-string keys in free text with `[REDACTED]`. */
export function scrubSecrets(text: string): string {
  return text
    .replace(BEARER, '$1[REDACTED]')
    .replace(JWT, '[REDACTED]')
    .replace(URL_CREDENTIALS, '$1[REDACTED]@')
    .replace(KEY_VALUE, '$1[REDACTED]');
}

/**
 * The object with every secret field's value censored; the same object when it has none (the
 * common line costs a walk over its few keys, no copy). The caller's object is never changed.
 */
export function redactSecrets<T>(value: T): T {
  return redactValue(value, 0) as T;
}

function redactValue(value: unknown, depth: number): unknown {
  // Short strings (methods, paths, ids) cannot hold a credential the patterns recognise; skip them.
  if (typeof value === 'string') return value.length < 12 ? value : scrubSecrets(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) return '[DEPTH]';
  // A nested error gets what a top-level `err` gets (its enumerable fields can hold request config).
  if (value instanceof Error) return depth === 0 ? value : serializeError(value);
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const v = value[i];
      const r = redactValue(v, depth + 1);
      if (r !== v) {
        out ??= value.slice();
        out[i] = r;
      }
    }
    return out ?? value;
  }
  // What has its own JSON form (Date, Buffer, URL) is written as that form and holds no field to censor.
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return value;
  let out: Record<string, unknown> | undefined;
  const record = value as Record<string, unknown>;
  for (const k in record) {
    const v = record[k];
    let r: unknown;
    if (v !== undefined && v !== null && v !== '' && isSecretField(k)) r = CENSOR;
    else r = redactValue(v, depth + 1);
    if (r !== v) {
      out ??= { ...record };
      out[k] = r;
    }
  }
  return out ?? value;
}

/** pino's error serializer, then secret fields censored and free text scrubbed. */
function serializeError(err: unknown): unknown {
  // The line's walk serializes errors it meets first; what reaches pino's `err` serializer then is
  // that result (already censored), which a second pass would relabel `type: "Object"`.
  if (!(err instanceof Error)) return err;
  const s = pino.stdSerializers.err(err as Error) as unknown as Record<string, unknown> | undefined;
  if (!s || typeof s !== 'object') return s;
  // pino's serialized error is not a plain object; its plain copy is walked like any log field.
  const copy = redactValue({ ...s }, 1) as Record<string, unknown>;
  // Strings of any length here: an error message is free text.
  for (const [k, v] of Object.entries(copy)) if (typeof v === 'string') copy[k] = scrubSecrets(v);
  return copy;
}

/**
 * The one redaction mechanism for every service's logs: each line's fields and each child's
 * bindings pass through `redactSecrets` (a walk over the keys, copying only when a secret field is
 * found), errors through `serializeError`, free-text messages through `scrubSecrets`. pino's
 * `redact` is not used: its wildcard paths cost ~14 µs a line (docs/benchmarks.md, issue 14).
 */
export function createLogger(config: LoggerConfig): Logger {
  const options: LoggerOptions = {
    name: config.name,
    level: config.level ?? 'info',
    // Joins a line to its trace; with telemetry off there is no active span and nothing is added.
    mixin: traceLogFields,
    formatters: {
      bindings: (bindings) => redactSecrets(bindings),
      log: (object) => redactSecrets(object),
    },
    hooks: {
      // Free-text messages can carry a token a library echoed.
      logMethod(args, method) {
        const scrubbed = args.map((a) => (typeof a === 'string' ? scrubSecrets(a) : a)) as typeof args;
        method.apply(this, scrubbed);
      },
    },
    serializers: { err: serializeError, error: serializeError },
  };
  const logger = config.destination ? pino(options, config.destination) : pino(options);
  // formatters.bindings sees only the root's bindings; a child's go through child() and setBindings(),
  // so they are redacted there. Children inherit from their parent, so every descendant has these.
  const child = logger.child as unknown as (
    this: Logger,
    bindings: pino.Bindings,
    options?: pino.ChildLoggerOptions,
  ) => Logger;
  const setBindings = logger.setBindings as unknown as (this: Logger, bindings: pino.Bindings) => void;
  Object.assign(logger, {
    child(this: Logger, bindings: pino.Bindings, childOptions?: pino.ChildLoggerOptions) {
      return child.call(this, redactSecrets(bindings), childOptions);
    },
    setBindings(this: Logger, bindings: pino.Bindings) {
      setBindings.call(this, redactSecrets(bindings));
    },
  });
  return logger;
}

/** The active span's ids for a log line (`trace_id`, `span_id`), or nothing. */
export function traceLogFields(): { trace_id?: string; span_id?: string } {
  const span = trace.getActiveSpan();
  if (!span) return {};
  const context = span.spanContext();
  if (!trace.isSpanContextValid(context)) return {};
  return { trace_id: context.traceId, span_id: context.spanId };
}
