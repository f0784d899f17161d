import { randomUUID } from 'node:crypto';
import { identityKey } from '@mcp-broker/contracts';
import { z } from 'zod';
import { type QueryParameter, scanPartition } from '../data/partition-scan.ts';
import { defineTool, type ToolContext } from './tool-definition.ts';

/**
 * Session memory: `store_memory`, `recall_memory` and `clear_memory` over the `memories` container.
 *
 * Every memory belongs to the identity that stored it. Its partition key `owner` is derived from the
 * caller's verified issuer and subject (never from an argument), and every read and delete is a
 * query on that one partition, so a caller can never see or clear another identity's memories,
 * whatever session id it names.
 *
 * Expiry: a memory stored with `ttl_seconds` carries Cosmos DB's per-item `ttl` (the container has
 * `defaultTtl: -1`, so per-item TTL applies and Cosmos DB deletes it after that many seconds) and an
 * `expiresAt` timestamp. The embedded Cosmos server never expires items, and Cosmos DB deletes them
 * in the background, so reads also filter on `expiresAt` against the tools' clock.
 */

const SESSION_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const CONTENT_MAX = 8_000;
const TTL_MIN = 60;
const TTL_MAX = 2_592_000;
const RECALL_DEFAULT = 20;
const RECALL_MAX = 100;
const DELETE_CONCURRENCY = 8;

export const memoryKinds = ['note', 'fact', 'preference', 'summary'] as const;

const sessionId = z
  .string()
  .regex(SESSION_ID, 'session_id must be 1–128 characters of A–Z, a–z, 0–9, ".", "_", ":" or "-"')
  .describe('Session the memory belongs to: 1–128 characters of A–Z, a–z, 0–9, ".", "_", ":", "-".');

/** The stored document. `owner` is the partition key. */
interface MemoryDocument {
  id: string;
  owner: string;
  sessionId: string;
  kind: (typeof memoryKinds)[number];
  content: string;
  storedAt: string;
  expiresAt: string | null;
  /** Seconds until Cosmos DB deletes the item; absent: never (the container default, -1). */
  ttl?: number;
}

export const storeMemoryInput = z.object({
  session_id: sessionId,
  content: z
    .string()
    .min(1)
    .max(CONTENT_MAX)
    .refine((s) => s.trim().length > 0, 'content must not be blank')
    .describe(`What to remember, 1–${CONTENT_MAX} characters.`),
  kind: z.enum(memoryKinds).default('note').describe('note (default), fact, preference or summary.'),
  ttl_seconds: z
    .number()
    .int()
    .min(TTL_MIN)
    .max(TTL_MAX)
    .optional()
    .describe(
      `Forget after this many seconds (${TTL_MIN}–${TTL_MAX}, i.e. up to 30 days); kept until cleared when omitted.`,
    ),
});

export const storeMemoryOutput = z.object({
  id: z.string().describe('Id of the stored memory.'),
  session_id: z.string().describe('The session it belongs to.'),
  stored_at: z.string().describe('When it was stored (ISO 8601 UTC).'),
  expires_at: z.string().nullable().describe('When it expires (ISO 8601 UTC); null when it does not.'),
});

export const recallMemoryInput = z.object({
  session_id: sessionId,
  query: z
    .string()
    .min(1)
    .max(200)
    .optional()
    .describe('Only memories whose content contains this text (case-insensitive); all when omitted.'),
  limit: z
    .number()
    .int()
    .min(1)
    .max(RECALL_MAX)
    .default(RECALL_DEFAULT)
    .describe(`Most memories to return, 1–${RECALL_MAX}. Default ${RECALL_DEFAULT}.`),
});

export const recallMemoryOutput = z.object({
  session_id: z.string().describe('The session recalled.'),
  memories: z
    .array(
      z.object({
        id: z.string().describe('Memory id.'),
        kind: z.enum(memoryKinds).describe('note, fact, preference or summary.'),
        content: z.string().describe('What was stored.'),
        stored_at: z.string().describe('When it was stored (ISO 8601 UTC).'),
        expires_at: z.string().nullable().describe('When it expires; null when it does not.'),
      }),
    )
    .describe('The caller’s unexpired memories of the session, newest first.'),
});

export const clearMemoryInput = z.object({ session_id: sessionId });

export const clearMemoryOutput = z.object({
  session_id: z.string().describe('The session cleared.'),
  deleted: z
    .number()
    .int()
    .describe('Unexpired memories deleted (expired ones not yet purged are deleted too, uncounted).'),
});

/** Options for building the memory tools; the defaults suit production. */
export interface MemoryToolsOptions {
  /** The clock for `storedAt`, `expiresAt` and expiry filtering. Default: the system clock. */
  now?: () => Date;
}

/** Builds the three memory tools around one clock (tests inject theirs instead of sleeping). */
export function buildMemoryTools(options: MemoryToolsOptions = {}) {
  const now = options.now ?? (() => new Date());

  const storeMemoryTool = defineTool({
    name: 'store_memory',
    title: 'Store memory',
    description:
      'Remembers a piece of text for a session (a note, fact, preference or summary), optionally for a limited ' +
      'time. Memories belong to the calling identity: no other caller can recall or clear them.',
    inputSchema: storeMemoryInput,
    outputSchema: storeMemoryOutput,
    requiredPermissions: ['Memory.Write'],
    timeoutMs: 5_000,
    readOnly: false,
    async handler({ session_id, content, kind, ttl_seconds }, { identity, signal, store }) {
      signal.throwIfAborted();
      const storedAt = now();
      const document: MemoryDocument = {
        id: `mem-${randomUUID()}`,
        owner: identityKey(identity),
        sessionId: session_id,
        // The registry applies the schema default; direct callers may not have parsed their arguments.
        kind: kind ?? 'note',
        content,
        storedAt: storedAt.toISOString(),
        expiresAt: ttl_seconds === undefined ? null : new Date(storedAt.getTime() + ttl_seconds * 1000).toISOString(),
        ...(ttl_seconds === undefined ? {} : { ttl: ttl_seconds }),
      };
      await store.container('memories').items.create(document, { abortSignal: signal });
      return {
        id: document.id,
        session_id,
        stored_at: document.storedAt,
        expires_at: document.expiresAt,
      };
    },
  });

  const recallMemoryTool = defineTool({
    name: 'recall_memory',
    title: 'Recall memory',
    description:
      'Returns the calling identity’s unexpired memories of a session, newest first, optionally only those ' +
      'containing some text (case-insensitive).',
    inputSchema: recallMemoryInput,
    outputSchema: recallMemoryOutput,
    requiredPermissions: ['Memory.Read'],
    timeoutMs: 5_000,
    async handler({ session_id, query, limit }, context) {
      const parameters = [
        { name: '@limit', value: limit ?? RECALL_DEFAULT },
        { name: '@now', value: now().toISOString() },
      ];
      let text = '';
      if (query !== undefined) {
        text = ' AND CONTAINS(LOWER(c.content), @query)';
        parameters.push({ name: '@query', value: query.toLowerCase() });
      }
      const rows = await queryOwnSession<Pick<MemoryDocument, 'id' | 'kind' | 'content' | 'storedAt' | 'expiresAt'>>(
        context,
        session_id,
        'SELECT TOP @limit c.id, c.kind, c.content, c.storedAt, c.expiresAt FROM c WHERE c.owner = @owner ' +
          `AND c.sessionId = @sessionId AND (IS_NULL(c.expiresAt) OR c.expiresAt > @now)${text} ORDER BY c.storedAt DESC`,
        parameters,
      );
      return {
        session_id,
        memories: rows.map((m) => ({
          id: m.id,
          kind: m.kind,
          content: m.content,
          stored_at: m.storedAt,
          expires_at: m.expiresAt ?? null,
        })),
      };
    },
  });

  const clearMemoryTool = defineTool({
    name: 'clear_memory',
    title: 'Clear memory',
    description: 'Deletes every memory the calling identity stored for a session and says how many it deleted.',
    inputSchema: clearMemoryInput,
    outputSchema: clearMemoryOutput,
    requiredPermissions: ['Memory.Write'],
    timeoutMs: 5_000,
    readOnly: false,
    async handler({ session_id }, context) {
      const { identity, signal, store } = context;
      const owner = identityKey(identity);
      const at = now().toISOString();
      const rows = await queryOwnSession<Pick<MemoryDocument, 'id' | 'expiresAt'>>(
        context,
        session_id,
        'SELECT c.id, c.expiresAt FROM c WHERE c.owner = @owner AND c.sessionId = @sessionId',
      );
      const container = store.container('memories');
      let deleted = 0;
      for (let i = 0; i < rows.length; i += DELETE_CONCURRENCY) {
        signal.throwIfAborted();
        await Promise.all(
          rows.slice(i, i + DELETE_CONCURRENCY).map(async (row) => {
            try {
              await container.item(row.id, owner).delete({ abortSignal: signal });
            } catch (error) {
              // Gone already (Cosmos DB's TTL, or a concurrent clear): nothing to count.
              if ((error as { code?: unknown }).code === 404) return;
              throw error;
            }
            if (row.expiresAt === null || row.expiresAt === undefined || row.expiresAt > at) deleted += 1;
          }),
        );
      }
      return { session_id, deleted };
    },
  });

  return { storeMemoryTool, recallMemoryTool, clearMemoryTool };
}

/** The memory tools with the system clock. */
export const { storeMemoryTool, recallMemoryTool, clearMemoryTool } = buildMemoryTools();

/** Every row of a query on the caller's own partition and session. */
function queryOwnSession<T>(
  context: ToolContext,
  session: string,
  query: string,
  parameters: QueryParameter[] = [],
): Promise<T[]> {
  const owner = identityKey(context.identity);
  return scanPartition<T>(context, 'memories', owner, query, [
    { name: '@owner', value: owner },
    { name: '@sessionId', value: session },
    ...parameters,
  ]);
}
