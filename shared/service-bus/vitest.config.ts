import { defineConfig } from 'vitest/config';

// The tests run against the Service Bus peer, Redis and an embedded Cosmos server.
export default defineConfig({
  test: { testTimeout: 30_000, hookTimeout: 120_000 },
});
