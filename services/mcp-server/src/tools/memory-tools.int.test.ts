import { createHash } from 'node:crypto';
import { type Identity, identityKey } from '@mcp-broker/contracts';
import type { Store } from '@mcp-broker/store';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { useTestStore } from '../../test-support/test-store.ts';
import { testToolContext } from '../../test-support/tool-context.ts';
import { buildMemoryTools, clearMemoryTool, recallMemoryTool, storeMemoryTool } from './memory-tools.ts';
import type { ToolContext, ToolDefinition } from './tool-definition.ts';

let store: Store;
/** The tools' clock: tests move it instead of sleeping. */
let clock = Date.parse('2026-06-30T09:00:00.000Z');
const tick = (ms = 1_000) => {
  clock += ms;
};
const tools = buildMemoryTools({ now: () => new Date(clock) });

useTestStore('memory-tools', {
  ready: (s) => {
    store = s;
  },
});

const permissions = ['Memory.Read', 'Memory.Write'];
function as(subject: string, identity: Partial<Identity> = {}, signal?: AbortSignal): ToolContext {
  const { context } = testToolContext(store, { permissions, subject, identity });
  return signal ? { ...context, signal } : context;
}

async function run<T extends ToolDefinition>(tool: T, args: unknown, context: ToolContext) {
  return tool.handler(tool.inputSchema.parse(args), context) as ReturnType<T['handler']>;
}

const remember = (context: ToolContext, args: object) => run(tools.storeMemoryTool, args, context);
const recall = (context: ToolContext, args: object) => run(tools.recallMemoryTool, args, context);
const clear = (context: ToolContext, session_id: string) => run(tools.clearMemoryTool, { session_id }, context);

describe('memory tools', () => {
  it('stores, recalls newest first, and clears', async () => {
    const alice = as('alice');
    const first = await remember(alice, {
      session_id: 'chat-1',
      content: 'Customer prefers email.',
      kind: 'preference',
    });
    expect(first).toEqual({
      id: expect.stringMatching(/^mem-[0-9a-f-]{36}$/),
      session_id: 'chat-1',
      stored_at: new Date(clock).toISOString(),
      expires_at: null,
    });
    tick();
    const second = await remember(alice, { session_id: 'chat-1', content: 'Renewal due in July.' });
    tick();
    await remember(alice, { session_id: 'chat-2', content: 'Another session.' });

    const recalled = await recall(alice, { session_id: 'chat-1' });
    expect(recalled).toEqual({
      session_id: 'chat-1',
      memories: [
        { id: second.id, kind: 'note', content: 'Renewal due in July.', stored_at: second.stored_at, expires_at: null },
        {
          id: first.id,
          kind: 'preference',
          content: 'Customer prefers email.',
          stored_at: first.stored_at,
          expires_at: null,
        },
      ],
    });
    expect(tools.recallMemoryTool.outputSchema.strict().parse(recalled)).toBeTruthy();

    expect(await clear(alice, 'chat-1')).toEqual({ session_id: 'chat-1', deleted: 2 });
    expect((await recall(alice, { session_id: 'chat-1' })).memories).toEqual([]);
    expect(await clear(alice, 'chat-1')).toEqual({ session_id: 'chat-1', deleted: 0 });
    // Other sessions are untouched.
    expect((await recall(alice, { session_id: 'chat-2' })).memories.map((m) => m.content)).toEqual([
      'Another session.',
    ]);
  });

  it('keeps identities apart even with the same session id', async () => {
    const alice = as('alice-2');
    const bob = as('bob-2');
    const impostor = as('alice-2', { issuer: 'https://other-issuer.test/' });
    await remember(alice, { session_id: 'shared', content: 'Alice secret' });
    tick();
    await remember(bob, { session_id: 'shared', content: 'Bob secret' });

    expect((await recall(alice, { session_id: 'shared' })).memories.map((m) => m.content)).toEqual(['Alice secret']);
    expect((await recall(bob, { session_id: 'shared' })).memories.map((m) => m.content)).toEqual(['Bob secret']);
    // Same subject, other issuer: a different identity.
    expect((await recall(impostor, { session_id: 'shared' })).memories).toEqual([]);

    expect(await clear(bob, 'shared')).toEqual({ session_id: 'shared', deleted: 1 });
    expect(await clear(impostor, 'shared')).toEqual({ session_id: 'shared', deleted: 0 });
    expect((await recall(alice, { session_id: 'shared' })).memories.map((m) => m.content)).toEqual(['Alice secret']);
  });

  it('partitions documents by a hash of issuer and subject, with Cosmos DB’s per-item ttl', async () => {
    const context = as('carol');
    const stored = await remember(context, { session_id: 's', content: 'short-lived', ttl_seconds: 3_600 });
    const owner = createHash('sha256').update('https://issuer.test/|carol').digest('hex');
    expect(identityKey(context.identity)).toBe(owner);
    const { resource } = await store.container('memories').item(stored.id, owner).read();
    expect(resource).toMatchObject({
      id: stored.id,
      owner,
      sessionId: 's',
      kind: 'note',
      content: 'short-lived',
      storedAt: new Date(clock).toISOString(),
      expiresAt: new Date(clock + 3_600_000).toISOString(),
      ttl: 3_600,
    });
    expect(stored.expires_at).toBe(new Date(clock + 3_600_000).toISOString());
    const permanent = await remember(context, { session_id: 's', content: 'kept' });
    const { resource: kept } = await store.container('memories').item(permanent.id, owner).read();
    expect(kept).not.toHaveProperty('ttl');
  });

  it('does not recall expired memories, though the embedded server keeps them', async () => {
    const dave = as('dave');
    const start = clock;
    await remember(dave, { session_id: 'ttl', content: 'expires in a minute', ttl_seconds: 60 });
    tick();
    await remember(dave, { session_id: 'ttl', content: 'stays' });

    clock = start + 59_999;
    expect((await recall(dave, { session_id: 'ttl' })).memories.map((m) => m.content)).toEqual([
      'stays',
      'expires in a minute',
    ]);
    clock = start + 60_000;
    expect((await recall(dave, { session_id: 'ttl' })).memories.map((m) => m.content)).toEqual(['stays']);
    // Still stored (no TTL expiry on the embedded server), so clear deletes it but counts only the live one.
    expect(await clear(dave, 'ttl')).toEqual({ session_id: 'ttl', deleted: 1 });
    const { resources } = await store
      .container('memories')
      .items.query({
        query: 'SELECT * FROM c WHERE c.owner = @owner',
        parameters: [{ name: '@owner', value: identityKey(dave.identity) }],
      })
      .fetchAll();
    expect(resources).toEqual([]);
  });

  it('filters by content case-insensitively and treats the query as plain text', async () => {
    const erin = as('erin');
    for (const content of ['Prefers EMAIL over phone', 'Budget: 50k', "O'Brien signs the contract", 'email sent']) {
      tick();
      await remember(erin, { session_id: 'q', content });
    }
    const find = async (query: string) =>
      (await recall(erin, { session_id: 'q', query })).memories.map((m) => m.content);
    expect(await find('Email')).toEqual(['email sent', 'Prefers EMAIL over phone']);
    expect(await find("o'brien")).toEqual(["O'Brien signs the contract"]);
    expect(await find("' OR 1=1 --")).toEqual([]);
    expect(await find('") OR true OR ("')).toEqual([]);
    expect(await find('%')).toEqual([]);
    expect(await find('nothing like this')).toEqual([]);
  });

  it('returns at most limit memories, newest first', async () => {
    const frank = as('frank');
    for (let i = 1; i <= 5; i++) {
      tick();
      await remember(frank, { session_id: 'many', content: `memory ${i}` });
    }
    expect((await recall(frank, { session_id: 'many', limit: 2 })).memories.map((m) => m.content)).toEqual([
      'memory 5',
      'memory 4',
    ]);
    expect((await recall(frank, { session_id: 'many' })).memories).toHaveLength(5);
  });

  it('validates its arguments', () => {
    const rejects = (tool: ToolDefinition, args: object, field: string) => {
      const parsed = tool.inputSchema.safeParse(args);
      expect(parsed.success, JSON.stringify(args).slice(0, 80)).toBe(false);
      expect(parsed.error?.issues[0]?.path).toEqual([field]);
    };
    for (const session_id of ['', 'a'.repeat(129), 'has space', 'slash/no', "q'uote", 'ümlaut', 'semi;colon']) {
      rejects(storeMemoryTool, { session_id, content: 'x' }, 'session_id');
      rejects(recallMemoryTool, { session_id }, 'session_id');
      rejects(clearMemoryTool, { session_id }, 'session_id');
    }
    expect(
      storeMemoryTool.inputSchema.safeParse({ session_id: `A-z0.9_:-${'a'.repeat(119)}`, content: 'x' }).success,
    ).toBe(true);
    rejects(storeMemoryTool, { session_id: 's', content: '' }, 'content');
    rejects(storeMemoryTool, { session_id: 's', content: '   ' }, 'content');
    rejects(storeMemoryTool, { session_id: 's', content: 'x'.repeat(8_001) }, 'content');
    expect(storeMemoryTool.inputSchema.safeParse({ session_id: 's', content: 'x'.repeat(8_000) }).success).toBe(true);
    rejects(storeMemoryTool, { session_id: 's', content: 'x', kind: 'secret' }, 'kind');
    for (const ttl_seconds of [59, 2_592_001, 1.5, -1]) {
      rejects(storeMemoryTool, { session_id: 's', content: 'x', ttl_seconds }, 'ttl_seconds');
    }
    for (const ttl_seconds of [60, 2_592_000]) {
      expect(storeMemoryTool.inputSchema.safeParse({ session_id: 's', content: 'x', ttl_seconds }).success).toBe(true);
    }
    for (const limit of [0, 101, 2.5]) rejects(recallMemoryTool, { session_id: 's', limit }, 'limit');
    rejects(recallMemoryTool, { session_id: 's', query: '' }, 'query');
    rejects(recallMemoryTool, { session_id: 's', query: 'x'.repeat(201) }, 'query');
    expect(storeMemoryTool.inputSchema.parse({ session_id: 's', content: 'x' }).kind).toBe('note');
    expect(recallMemoryTool.inputSchema.parse({ session_id: 's' }).limit).toBe(20);
  });

  it('does not touch the store when its signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('cancelled by test'));
    const aborted = as('grace', {}, controller.signal);
    await expect(remember(aborted, { session_id: 'a', content: 'x' })).rejects.toThrow(/cancelled by test|abort/i);
    await expect(recall(aborted, { session_id: 'a' })).rejects.toThrow(/cancelled by test|abort/i);
    await expect(clear(aborted, 'a')).rejects.toThrow(/cancelled by test|abort/i);
    expect((await recall(as('grace'), { session_id: 'a' })).memories).toEqual([]);
  });

  it('declares permissions, timeouts, write hints and self-documenting schemas', () => {
    expect([storeMemoryTool, recallMemoryTool, clearMemoryTool].map((t) => t.name)).toEqual([
      'store_memory',
      'recall_memory',
      'clear_memory',
    ]);
    expect(storeMemoryTool.requiredPermissions).toEqual(['Memory.Write']);
    expect(clearMemoryTool.requiredPermissions).toEqual(['Memory.Write']);
    expect(recallMemoryTool.requiredPermissions).toEqual(['Memory.Read']);
    expect(storeMemoryTool.readOnly).toBe(false);
    expect(clearMemoryTool.readOnly).toBe(false);
    expect(recallMemoryTool.readOnly ?? true).toBe(true);
    for (const tool of [storeMemoryTool, recallMemoryTool, clearMemoryTool]) {
      expect(tool.timeoutMs).toBe(5_000);
      for (const schema of [tool.inputSchema, tool.outputSchema]) {
        const json = z.toJSONSchema(schema, { io: 'input' }) as {
          properties: Record<string, { description?: string }>;
        };
        for (const [name, property] of Object.entries(json.properties)) expect(property.description, name).toBeTruthy();
      }
    }
  });
});
