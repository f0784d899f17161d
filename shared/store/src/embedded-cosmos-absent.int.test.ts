import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const storeIndex = new URL('./index.ts', import.meta.url).href;

/**
 * A child process in which @vercel/cosmosdb-server does not resolve, as in a production image
 * (`npm ci --omit=dev`): it imports the store package and tries to open a store without an endpoint.
 */
const withoutEmbeddedServer = `
import { registerHooks } from 'node:module';
registerHooks({
  resolve(specifier, context, nextResolve) {
    if (specifier === '@vercel/cosmosdb-server') {
      throw Object.assign(new Error("Cannot find package '@vercel/cosmosdb-server' imported from " + context.parentURL), {
        code: 'ERR_MODULE_NOT_FOUND',
      });
    }
    return nextResolve(specifier, context);
  },
});
const store = await import(${JSON.stringify(storeIndex)});
console.log('imported');
try {
  await store.createStore();
  console.log('opened an embedded store');
} catch (error) {
  console.log('refused: ' + error.message);
}
`;

describe('the store without the embedded Cosmos server installed', () => {
  it('imports, and refuses a store without COSMOS_ENDPOINT with an error that names what to set', async () => {
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', withoutEmbeddedServer], {
      env: { ...process.env, NODE_NO_WARNINGS: '1' },
    }).catch((error: { stdout?: string; stderr?: string }) => {
      throw new Error(`child failed: ${error.stderr ?? ''}${error.stdout ?? ''}`);
    });
    const [imported, outcome] = stdout.trim().split('\n');
    expect(imported).toBe('imported');
    expect(outcome).toMatch(/^refused: COSMOS_ENDPOINT is not set/);
    expect(outcome).toContain('@vercel/cosmosdb-server');
    expect(outcome).toContain('COSMOS_KEY');
  });
});
