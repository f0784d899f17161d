import type { GetTokenOptions, TokenProvider } from '../src/token-provider.ts';

/**
 * A TokenProvider for pool and call tests against the MCP test harness, whose loopback issuer signs
 * the tokens (the real provider has its own tests against the dev OAuth server). `next` decides each
 * token; every call's options are recorded.
 */
export interface ScriptedTokenProvider extends TokenProvider {
  readonly calls: GetTokenOptions[];
}

export function scriptedTokenProvider(
  next: (options: GetTokenOptions, call: number) => Promise<string> | string,
): ScriptedTokenProvider {
  const calls: GetTokenOptions[] = [];
  return {
    calls,
    async getToken(options = {}) {
      calls.push(options);
      return next(options, calls.length);
    },
  };
}
