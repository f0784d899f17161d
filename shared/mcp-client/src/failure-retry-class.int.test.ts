import { failureCatalog, retryClassOfKind } from '@mcp-broker/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HttpSandbox, type SandboxResponse, startHttpSandbox } from '../test-support/http-sandbox.ts';
import { poolFor } from '../test-support/pool-for.ts';
import { scriptedTokenProvider } from '../test-support/scripted-token-provider.ts';
import { callTool } from './call-tool.ts';
import type { McpCallError } from './mcp-call-error.ts';

/**
 * The worker retries by the error's kind; callers read the code's class in the catalog
 * (docs/errors.md). The two must say the same thing for every failure callTool hands the worker.
 */
describe('failures callTool gives the worker: the kind agrees with the catalog class of the code', () => {
  let sandbox: HttpSandbox;
  const key = { caller: 'c', endpoint: 'e' };
  beforeAll(async () => {
    sandbox = await startHttpSandbox();
  });
  afterAll(async () => {
    await sandbox?.close();
  });

  const cases: [string, SandboxResponse, string, string][] = [
    [
      'a 401 that a refreshed token gets too',
      { status: 401, body: { message: 'invalid token' } },
      'UPSTREAM_UNAUTHORIZED',
      'final',
    ],
    ['a 503', { status: 503, body: 'unavailable' }, 'UPSTREAM_UNAVAILABLE', 'transient'],
    [
      'a 429',
      { status: 429, headers: { 'retry-after': '1' }, body: { message: 'slow down' } },
      'UPSTREAM_RATE_LIMITED',
      'transient',
    ],
    ['a 403', { status: 403, body: { message: 'forbidden' } }, 'UPSTREAM_FORBIDDEN', 'final'],
    [
      'an HTML page',
      { status: 200, headers: { 'content-type': 'text/html' }, body: '<html></html>' },
      'UPSTREAM_REJECTED',
      'final',
    ],
  ];

  it.each(cases)('%s: %s is %s', async (_what, response, code, retry) => {
    sandbox.respond(response);
    const tokens = scriptedTokenProvider(() => 'opaque-token');
    const pool = poolFor(sandbox.url, tokens);
    try {
      const err = (await callTool({ pool, key, tool: 't', arguments: {} }).catch((e: unknown) => e)) as McpCallError;
      expect(err.code).toBe(code);
      expect(failureCatalog[err.code].retry).toBe(retry);
      expect(retryClassOfKind(err.kind)).toBe(retry);
    } finally {
      await pool.close();
    }
  });

  it('refreshes the token once before giving up with UPSTREAM_UNAUTHORIZED (the retry happens here, not in the worker)', async () => {
    sandbox.respond({ status: 401, body: { message: 'invalid token' } });
    const tokens = scriptedTokenProvider(() => 'opaque-token');
    const pool = poolFor(sandbox.url, tokens);
    try {
      await expect(callTool({ pool, key, tool: 't', arguments: {} })).rejects.toMatchObject({
        kind: 'permanent',
        code: 'UPSTREAM_UNAUTHORIZED',
      });
      expect(tokens.calls.filter((c) => c.forceRefresh)).toHaveLength(1);
    } finally {
      await pool.close();
    }
  });
});
