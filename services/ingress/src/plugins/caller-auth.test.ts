import { Writable } from 'node:stream';
import { type CallerConfig, callerSchema, hashPassword } from '@mcp-broker/broker-config';
import { buildHttpServer, createLogger } from '@mcp-broker/runtime';
import { beforeAll, describe, expect, it } from 'vitest';
import { CallerAuthenticator } from '../caller-authenticator.ts';
import { registerCallerAuth } from './caller-auth.ts';

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
let callers: CallerConfig[];

beforeAll(async () => {
  const make = async (id: string) =>
    callerSchema.parse({
      id,
      auth: {
        type: 'basic',
        username: id,
        passwordHash: await hashPassword(`${id}-password`, { N: 1024, r: 8, p: 1 }),
      },
      upstream: { endpoint: 'local', credential: { type: 'managed-identity', scope: 'api://x/.default' } },
      tools: ['*'],
    });
  callers = [await make('apex'), await make('batch')];
});

/** An app whose log lines are collected, with one authenticated route that logs a line of its own. */
function appWithLog() {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  const app = buildHttpServer({ logger: createLogger({ name: 'caller-auth-test', destination }) });
  app.register(async (scope) => {
    registerCallerAuth(scope, new CallerAuthenticator(callers));
    scope.get('/v1/who', async (request) => {
      // Both requests are in flight at once when the first of them logs.
      await new Promise((r) => setTimeout(r, 20));
      request.log.info({ route: 'who' }, 'handler line');
      return { caller: request.caller.id };
    });
  });
  return { app, lines };
}

describe('the caller on log lines', () => {
  it('a refused request logs no caller, and it is 401 with the challenge', async () => {
    const { app, lines } = appWithLog();
    const res = await app.inject({ url: '/v1/who', headers: { authorization: basic('apex', 'wrong') } });
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toContain('Basic');
    const completed = lines.find((l) => l.msg === 'request completed');
    expect(completed).toBeDefined();
    expect(completed).not.toHaveProperty('caller');
    await app.close();
  });

  it("every line of a request names its own caller, never a concurrent request's", async () => {
    const { app, lines } = appWithLog();
    const [a, b] = await Promise.all([
      app.inject({
        url: '/v1/who',
        headers: { authorization: basic('apex', 'apex-password'), 'x-request-id': 'req-a' },
      }),
      app.inject({
        url: '/v1/who',
        headers: { authorization: basic('batch', 'batch-password'), 'x-request-id': 'req-b' },
      }),
    ]);
    expect(a.json()).toEqual({ caller: 'apex' });
    expect(b.json()).toEqual({ caller: 'batch' });
    const of = (requestId: string) => lines.filter((l) => l.requestId === requestId);
    for (const [requestId, caller] of [
      ['req-a', 'apex'],
      ['req-b', 'batch'],
    ] as const) {
      const mine = of(requestId);
      expect(mine.map((l) => l.msg).sort()).toEqual(['handler line', 'request completed']);
      for (const line of mine) expect(line.caller).toBe(caller);
    }
    // The app's own logger (the parent of every request's) got no caller.
    app.log.info('after');
    expect(lines.find((l) => l.msg === 'after')).not.toHaveProperty('caller');
    await app.close();
  });

  it('no line carries the Basic credential, even when a handler logs the headers or an error holding them', async () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const app = buildHttpServer({ logger: createLogger({ name: 'caller-auth-test', destination }) });
    app.register(async (scope) => {
      registerCallerAuth(scope, new CallerAuthenticator(callers));
      scope.get('/v1/echo', async (request) => {
        request.log.info({ headers: request.headers }, 'handler logged the headers');
        const err = Object.assign(new Error(`refused ${request.headers.authorization}`), {
          request: { headers: { Authorization: request.headers.authorization } },
        });
        request.log.warn({ err }, 'handler logged an error');
        return { ok: true };
      });
    });
    const header = basic('apex', 'apex-password');
    const ok = await app.inject({ url: '/v1/echo', headers: { authorization: header, cookie: 'sid=cookie-secret-1' } });
    expect(ok.statusCode).toBe(200);
    const refused = await app.inject({
      url: '/v1/echo',
      headers: { authorization: basic('apex', 'wrong-password-2') },
    });
    expect(refused.statusCode).toBe(401);
    const text = lines.join('');
    expect(text).toContain('handler logged the headers');
    expect(text).toContain('handler logged an error');
    for (const secret of [header.slice('Basic '.length), 'apex-password', 'cookie-secret-1', 'wrong-password-2'])
      expect(text).not.toContain(secret);
    await app.close();
  });
});
