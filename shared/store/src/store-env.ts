import { z } from 'zod';
import type { StoreOptions } from './store.ts';

/** The environment variables every service reads for its store, as one zod shape to spread. */
export const storeEnvShape = {
  /** Azure Cosmos DB account endpoint; unset: the embedded Cosmos-compatible server. */
  COSMOS_ENDPOINT: z.url().optional(),
  /** Account key (required with COSMOS_ENDPOINT). */
  COSMOS_KEY: z.string().optional(),
  COSMOS_DATABASE: z.string().default('mcp-broker'),
};

export function storeOptionsFromEnv(env: {
  COSMOS_ENDPOINT?: string | undefined;
  COSMOS_KEY?: string | undefined;
  COSMOS_DATABASE: string;
}): StoreOptions {
  return { endpoint: env.COSMOS_ENDPOINT, key: env.COSMOS_KEY, databaseId: env.COSMOS_DATABASE };
}
