import type { Identity } from '@mcp-broker/contracts';
import type { Store } from '@mcp-broker/store';
import pino from 'pino';
import type { ToolContext } from '../src/tools/tool-definition.ts';

export type ProgressUpdate = Parameters<ToolContext['progress']>[0];

export interface TestToolContext {
  context: ToolContext;
  /** Every progress update the handler reported, in order. */
  progress: ProgressUpdate[];
  controller: AbortController;
}

/** A ToolContext for calling a handler directly in tests, with a real store. */
export function testToolContext(
  store: Store,
  options: { permissions?: string[]; subject?: string; identity?: Partial<Identity> } = {},
): TestToolContext {
  const controller = new AbortController();
  const progress: ProgressUpdate[] = [];
  return {
    controller,
    progress,
    context: {
      identity: {
        subject: options.subject ?? 'test-client',
        issuer: 'https://issuer.test/',
        tokenKind: 'app',
        permissions: options.permissions ?? [],
        ...options.identity,
      },
      requestId: 'req-test',
      logger: pino({ level: 'silent' }),
      signal: controller.signal,
      progress: async (update) => {
        progress.push(update);
      },
      store,
    },
  };
}
