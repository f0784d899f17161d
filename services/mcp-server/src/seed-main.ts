import { loadConfig } from '@mcp-broker/runtime';
import { createStore } from '@mcp-broker/store';
import { seedConfigSchema, seedSampleData } from './seed-sample-data.ts';

// `npm run seed`: loads the sample data set into the Cosmos DB named by COSMOS_ENDPOINT (see docs/data-model.md).
const config = loadConfig(seedConfigSchema, process.env);
const store = await createStore({
  endpoint: config.COSMOS_ENDPOINT,
  key: config.COSMOS_KEY,
  databaseId: config.COSMOS_DATABASE,
});
const controller = new AbortController();
process.once('SIGINT', () => {
  console.log('Stopping after the bulk calls in flight (Ctrl-C again to quit now)…');
  controller.abort(new Error('interrupted'));
  process.once('SIGINT', () => process.exit(130));
});
try {
  await seedSampleData(store, {
    customers: config.SEED_CUSTOMERS,
    seed: config.SEED,
    batchSize: config.SEED_BATCH_SIZE,
    concurrency: config.SEED_CONCURRENCY,
    progressEveryMs: config.SEED_PROGRESS_SECONDS * 1000,
    signal: controller.signal,
  });
} finally {
  await store.close();
}
