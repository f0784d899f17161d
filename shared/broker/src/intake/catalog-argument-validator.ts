import type { CallerConfig } from '@mcp-broker/broker-config';
import { BrokerError } from '@mcp-broker/contracts';
import { isMcpCallError, type ToolCatalog } from '@mcp-broker/mcp-client';
import type { ArgumentProblems, ArgumentValidator } from './argument-validator.ts';

/** Validates against the endpoint's `tools/list` as the caller sees it (cached by the catalog). */
export class CatalogArgumentValidator implements ArgumentValidator {
  readonly #catalog: ToolCatalog;

  constructor(catalog: ToolCatalog) {
    this.#catalog = catalog;
  }

  async validate(caller: CallerConfig, tool: string, args: Record<string, unknown>): Promise<ArgumentProblems> {
    let problems: Awaited<ReturnType<ToolCatalog['validateArguments']>>;
    try {
      problems = await this.#catalog.validateArguments(
        { caller: caller.id, endpoint: caller.upstream.endpoint },
        tool,
        args,
      );
    } catch (err) {
      if (!isMcpCallError(err)) throw err;
      throw new BrokerError(
        'BROKER_UPSTREAM_UNAVAILABLE',
        `Could not read the tool list from endpoint "${caller.upstream.endpoint}" to check the arguments: ${err.message}`,
        { cause: err },
      );
    }
    if (problems.length === 0) return { kind: 'ok' };
    if (problems.length === 1 && problems[0]?.field === 'tool') return { kind: 'unknown_tool' };
    return { kind: 'invalid', fields: problems };
  }
}
