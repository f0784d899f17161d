import { defineConfig } from 'vitest/config';

// The tests run against a real Salesforce sandbox, Redis and an embedded Cosmos server.
export default defineConfig({
  test: { testTimeout: 30_000, hookTimeout: 120_000 },
});
