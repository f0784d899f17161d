import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, isSecretField, redactSecrets, scrubSecrets } from './logger.ts';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  const log = createLogger({ name: 't', destination });
  return { lines, log, out: () => lines.join('') };
}

const JWT = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhcHAiLCJhdWQiOiJ4In0.c2lnbmF0dXJlLWJ5dGVz';
const BASIC = Buffer.from('svc-user:basic-pass-9f3a').toString('base64');
const SB_KEY = 'sbKeyAbc123+/def456ghi789=';
const SB_CONN = `Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=listen;SharedAccessKey=${SB_KEY}`;
const COSMOS_KEY = 'C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw==';

describe('logger: no secret reaches a line (hostile shapes)', () => {
  it('request headers: Bearer, Basic, cookie, x-api-key, subscription and Event Grid keys, any case', () => {
    const { log, out } = capture();
    // Node gives request headers a null prototype; Fastify passes them on as they are.
    const headers = Object.assign(Object.create(null) as Record<string, string>, {
      authorization: `Bearer ${JWT}`,
      cookie: 'session=cookie-value-77',
      'x-api-key': 'api-key-value-55',
      'ocp-apim-subscription-key': 'sub-key-123',
      'aeg-sas-key': 'aeg-key-value-44',
      'user-agent': 'vitest',
    });
    log.info({ req: { method: 'GET', url: '/x', headers } }, 'incoming');
    log.info({ headers: { Authorization: `Basic ${BASIC}`, 'X-Api-Key': 'api-key-value-56' } }, 'outgoing');
    log.info({ res: { headers: { 'set-cookie': ['sid=set-cookie-value-88'] } } }, 'reply');
    log.info({ authorization: `Basic ${BASIC}`, 'proxy-authorization': 'Basic proxy-cred-66' }, 'top level');
    const text = out();
    for (const secret of [
      JWT,
      BASIC,
      'cookie-value-77',
      'api-key-value-55',
      'api-key-value-56',
      'sub-key-123',
      'aeg-key-value-44',
      'set-cookie-value-88',
      'proxy-cred-66',
    ])
      expect(text).not.toContain(secret);
    expect(text).toContain('vitest');
    expect(text).toContain('incoming');
  });

  it('config objects logged at start: client secrets, keys, connection strings, passwords in URLs', () => {
    const { log, out } = capture();
    log.info(
      {
        config: {
          store: { endpoint: 'https://cosmos.example:8081', key: COSMOS_KEY, databaseId: 'broker' },
          oauth: { clientId: 'app-1', clientSecret: 'client-secret-v1', client_secret: 'client-secret-v2' },
          upstreams: [{ name: 'crm', auth: { clientAssertion: JWT, assertion: 'assertion-v3' } }],
          redis: { url: 'redis://:redis-pass-v4@redis.example:6380' },
          serviceBus: { connectionString: SB_CONN, queue: 'calls' },
          eventGrid: { endpoint: 'https://eg.example', accessKey: 'eg-access-key-v5', sasToken: 'sas-v6' },
          salesforce: { username: 'svc@example.com', password: 'sf-pass-v7', privateKey: '-----BEGIN PRIVATE-----v8' },
        },
      },
      'starting',
    );
    const text = out();
    for (const secret of [
      COSMOS_KEY,
      'client-secret-v1',
      'client-secret-v2',
      JWT,
      'assertion-v3',
      'redis-pass-v4',
      SB_KEY,
      'eg-access-key-v5',
      'sas-v6',
      'sf-pass-v7',
      'PRIVATE-----v8',
    ])
      expect(text).not.toContain(secret);
    // What an operator needs to read stays.
    expect(text).toContain('https://cosmos.example:8081');
    expect(text).toContain('redis.example:6380');
    expect(text).toContain('app-1');
  });

  it('callback signing secrets and signatures', () => {
    const { log, out } = capture();
    log.info(
      {
        callback: { url: 'https://cb.example/hook', signingSecret: 'signing-secret-v9' },
        'x-broker-signature': 'sig-v10',
      },
      'callback registered',
    );
    log.info({ webhookSecret: 'webhook-secret-v11' }, 'webhook');
    const text = out();
    expect(text).not.toContain('signing-secret-v9');
    expect(text).not.toContain('sig-v10');
    expect(text).not.toContain('webhook-secret-v11');
    expect(text).toContain('https://cb.example/hook');
  });

  it('errors: tokens and keys in messages, stacks, causes and enumerable fields (an HTTP client error)', () => {
    const { log, out } = capture();
    const err = Object.assign(new Error(`401 for Bearer ${JWT}; connection ${SB_CONN}`), {
      config: { headers: { Authorization: `Basic ${BASIC}` }, url: 'https://user:url-pass-v12@api.example/x' },
      response: { data: { access_token: 'access-token-v13', refresh_token: 'refresh-token-v14' } },
      cause: new Error(`AccountKey=${COSMOS_KEY}`),
    });
    log.error({ err }, 'upstream failed');
    log.warn({ error: new Error(`token ${JWT}`) }, 'as error');
    // An error nested in another field gets the same treatment.
    log.warn({ attempt: { failure: Object.assign(new Error('nested'), { token: 'nested-token-v15' }) } }, 'nested');
    const text = out();
    for (const secret of [
      JWT,
      SB_KEY,
      BASIC,
      'url-pass-v12',
      'access-token-v13',
      'refresh-token-v14',
      COSMOS_KEY,
      'nested-token-v15',
    ])
      expect(text).not.toContain(secret);
    expect(text).toContain('api.example');
    expect(text).toContain('upstream failed');
  });

  it('free-text messages: Bearer, Basic, JWTs, URL userinfo, connection-string keys', () => {
    const { log, out } = capture();
    log.warn(`upstream said: Authorization: Bearer ${JWT}`);
    log.warn(`proxy wants Basic ${BASIC}`);
    log.warn(`could not reach ${SB_CONN}`);
    log.warn('redis://default:redis-pass-v16@host:6379 refused');
    log.info({ reason: `rejected with SharedAccessKey=${SB_KEY}` }, 'field text');
    const text = out();
    for (const secret of [JWT, BASIC, SB_KEY, 'redis-pass-v16']) expect(text).not.toContain(secret);
    expect(text.match(/\[REDACTED\]/g)?.length).toBeGreaterThanOrEqual(5);
  });

  it('child bindings are redacted too', () => {
    const { log, out } = capture();
    log.child({ token: 'binding-token-v17', requestId: 'r-1' }).info('bound');
    log
      .child({ requestId: 'r-2' })
      .child({ auth: { clientSecret: 'binding-secret-v18' } })
      .info('bound twice');
    const text = out();
    expect(text).not.toContain('binding-token-v17');
    expect(text).not.toContain('binding-secret-v18');
    expect(text).toContain('r-1');
    expect(text).toContain('r-2');
  });

  it('class instances are walked like plain objects (JSON writes their own fields)', () => {
    const { log, out } = capture();
    class UpstreamConfig {
      endpoint = 'https://up.example';
      clientSecret = 'class-secret-v20';
    }
    log.info({ upstream: new UpstreamConfig(), at: new Date(0) }, 'class');
    expect(out()).not.toContain('class-secret-v20');
    expect(out()).toContain('https://up.example');
    expect(out()).toContain('1970-01-01');
  });

  it('a cyclic or very deep object cannot hang the logger or leak past the depth limit', () => {
    const { log, out } = capture();
    let deep: Record<string, unknown> = { token: 'deep-token-v19' };
    for (let i = 0; i < 20; i++) deep = { next: deep };
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    log.info({ deep, cyclic }, 'shapes');
    expect(out()).not.toContain('deep-token-v19');
    expect(out()).toContain('shapes');
  });
});

describe('logger: ordinary content', () => {
  it('leaves non-secret fields and the caller’s object as they were', () => {
    const { log, out } = capture();
    const fields = {
      requestId: 'r-9',
      idempotencyKey: 'idem-1',
      tokenKind: 'app',
      inputTokens: 12,
      headers: { authorization: 'Bearer abc.def' },
    };
    log.info(fields, 'request completed');
    const line = JSON.parse(out()) as Record<string, unknown>;
    expect(line).toMatchObject({ requestId: 'r-9', idempotencyKey: 'idem-1', tokenKind: 'app', inputTokens: 12 });
    expect(line.headers).toEqual({ authorization: '[REDACTED]' });
    expect(fields.headers.authorization).toBe('Bearer abc.def');
  });

  it('redactSecrets returns the same object when there is nothing to censor (no copy on the common line)', () => {
    const line = { method: 'POST', url: '/v1/tool-calls', statusCode: 202, ms: 1.2 };
    expect(redactSecrets(line)).toBe(line);
  });

  it('isSecretField matches names in any spelling, not names that merely contain a word', () => {
    for (const name of ['Authorization', 'client_secret', 'Client-Secret', 'accessToken', 'x-api-key', 'key'])
      expect(isSecretField(name)).toBe(true);
    for (const name of ['idempotencyKey', 'tokenKind', 'keyPrefix', 'inputTokens', 'subject'])
      expect(isSecretField(name)).toBe(false);
  });

  it('an error keeps its type, message, stack and ordinary fields', () => {
    const { log, out } = capture();
    log.error({ err: Object.assign(new TypeError('boom'), { code: 'E1', token: 'tok-v21' }) }, 'failed');
    const line = JSON.parse(out()) as { err: Record<string, unknown> };
    expect(line.err).toMatchObject({ type: 'TypeError', message: 'boom', code: 'E1', token: '[REDACTED]' });
    expect(String(line.err.stack)).toContain('TypeError: boom');
  });

  it('scrubSecrets leaves ordinary text alone', () => {
    expect(scrubSecrets('tool query_customer_data failed for cus-000001')).toBe(
      'tool query_customer_data failed for cus-000001',
    );
  });
});
