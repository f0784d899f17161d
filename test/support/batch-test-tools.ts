import { defineTool } from '@mcp-broker/mcp-server';
import { z } from 'zod';

/** What the enrichment tool saw: invocations and completions per account id. */
export const enrichment = {
  invocations: new Map<string, number>(),
  completions: new Map<string, number>(),
  /** Calls running now and at most, by the first word of the account's name (one industry per schedule in the tests). */
  running: new Map<string, number>(),
  maxRunning: new Map<string, number>(),
};

const bump = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);

/**
 * A stand-in for `next_best_action` over one account: a score and an action, after `delay_ms`
 * (so a run takes long enough to overlap, be cancelled or be killed). Counts every invocation and
 * every completion by account id, so a test can tell a repeated call from a single one.
 */
export const enrichTool = defineTool({
  name: 'test_enrich',
  title: 'Enrich an account',
  description: 'Scores an account and proposes an action.',
  inputSchema: z.object({
    account_id: z.string().min(1).max(18),
    name: z.string().min(1).max(255),
    delay_ms: z.number().int().min(0).max(10_000).optional(),
  }),
  outputSchema: z.object({ score: z.number(), action: z.string() }),
  requiredPermissions: ['Test.Echo'],
  timeoutMs: 30_000,
  handler: async ({ account_id, name, delay_ms }, ctx) => {
    bump(enrichment.invocations, account_id);
    const group = name.split(' ')[0] ?? '';
    bump(enrichment.running, group);
    enrichment.maxRunning.set(
      group,
      Math.max(enrichment.maxRunning.get(group) ?? 0, enrichment.running.get(group) ?? 0),
    );
    try {
      if (delay_ms) {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(resolve, delay_ms);
          ctx.signal.addEventListener('abort', () => {
            clearTimeout(timer);
            reject(ctx.signal.reason);
          });
        });
      }
      bump(enrichment.completions, account_id);
      return { score: name.length % 10, action: `Call ${name} about renewal` };
    } finally {
      enrichment.running.set(group, (enrichment.running.get(group) ?? 1) - 1);
    }
  },
});
