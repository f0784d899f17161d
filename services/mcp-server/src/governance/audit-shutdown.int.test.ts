import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../../test-support/mcp-test-harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

async function auditRecords(requestIdPrefix: string) {
  const { resources } = await h.store
    .container('audit')
    .items.query({
      query: 'SELECT * FROM c WHERE STARTSWITH(c.requestId, @p)',
      parameters: [{ name: '@p', value: requestIdPrefix }],
    })
    .fetchAll();
  return resources;
}

describe('audit records on shutdown', () => {
  it('writes the records still buffered when the server closes', async () => {
    // A buffer that would hold its records for a minute: only the shutdown flush can write them.
    const replica = await h.startReplica({ auditBuffer: { flushIntervalMs: 60_000, batchSize: 100 } });
    const token = await h.token(['Test.Echo']);
    const prefix = `shutdown-${Date.now()}-`;
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${replica.url}/message`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${token}`,
          'x-request-id': `${prefix}${i}`,
        },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: i,
          method: 'tools/call',
          params: { name: 'test_echo', arguments: { message: `m${i}` } },
        }),
      });
      expect(res.status).toBe(200);
    }
    expect(replica.server.audit.buffered).toBe(5);
    expect(await auditRecords(prefix)).toHaveLength(0);
    await replica.close();
    const records = await auditRecords(prefix);
    expect(records.map((r) => r.requestId).sort()).toEqual([0, 1, 2, 3, 4].map((i) => `${prefix}${i}`));
    expect(records.every((r) => r.outcome === 'success' && r.tool === 'test_echo')).toBe(true);
  });
});
