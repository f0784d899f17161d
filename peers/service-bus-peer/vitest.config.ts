import { defineConfig } from 'vitest/config';

// The tests drive the peer through the real SDK; lock expiry and renewal take seconds.
export default defineConfig({
  test: { testTimeout: 30_000, hookTimeout: 120_000 },
});
