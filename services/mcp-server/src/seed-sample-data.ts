import { iterateCustomerRecords, loadSampleData, MAX_CUSTOMERS, type SampleDataCounts } from '@mcp-broker/sample-data';
import type { Store } from '@mcp-broker/store';
import { z } from 'zod';

/** `npm run seed`'s configuration, read once from the environment in `seed-main.ts`. */
export const seedConfigSchema = z
  .object({
    /** Cosmos DB account endpoint; unset seeds an embedded server that vanishes with the process. */
    COSMOS_ENDPOINT: z.url().optional(),
    /** Account key; required with COSMOS_ENDPOINT. */
    COSMOS_KEY: z.string().optional(),
    COSMOS_DATABASE: z.string().default('mcp-broker'),
    /** Customers to generate (records scale with it: ~11 per customer). Default 200. */
    SEED_CUSTOMERS: z.coerce.number().int().min(0).max(MAX_CUSTOMERS).default(200),
    /** Generator seed; the same seed and size give the same records. Default 42. */
    SEED: z.coerce.number().int().default(42),
    /** Upserts per bulk call. Default 1000. */
    SEED_BATCH_SIZE: z.coerce.number().int().min(1).max(10_000).default(1000),
    /** Bulk calls in flight. Default 16; lower it when the account throttles (429). */
    SEED_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(16),
    /** Seconds between progress lines. Default 5. */
    SEED_PROGRESS_SECONDS: z.coerce.number().positive().default(5),
  })
  .superRefine((config, ctx) => {
    if (config.COSMOS_ENDPOINT && !config.COSMOS_KEY) {
      ctx.addIssue({ code: 'custom', path: ['COSMOS_KEY'], message: 'required when COSMOS_ENDPOINT is set' });
    }
  });
export type SeedConfig = z.infer<typeof seedConfigSchema>;

export interface SeedOptions {
  customers: number;
  seed: number;
  batchSize?: number;
  concurrency?: number;
  /** Milliseconds between progress lines. Default 5000. */
  progressEveryMs?: number;
  /** Where progress and summary lines go. Default `console.log`. */
  log?: (line: string) => void;
  /** Clock in milliseconds, for tests. Default `performance.now`. */
  now?: () => number;
  /** Stops before the next bulk call (Ctrl-C). */
  signal?: AbortSignal;
}

export interface SeedResult {
  counts: SampleDataCounts;
  records: number;
  seconds: number;
  recordsPerSecond: number;
}

/** Warning printed when the target is the embedded server. */
export const EMBEDDED_SEED_WARNING =
  'No COSMOS_ENDPOINT: seeding an embedded in-process Cosmos server, whose data vanishes when this command exits. ' +
  'This only measures generation and load speed. Set COSMOS_ENDPOINT and COSMOS_KEY to seed a real Cosmos DB; ' +
  '`npm start` seeds its own embedded store (EMBEDDED_SAMPLE_CUSTOMERS).';

/**
 * Streams the sample data set into the store (`iterateCustomerRecords`, so memory stays bounded at
 * any size), upserting through the bulk loader, with a progress line every few seconds and a summary
 * at the end. Upserts make it safe to run again or to resume a larger size over a smaller one.
 */
export async function seedSampleData(store: Store, options: SeedOptions): Promise<SeedResult> {
  const log = options.log ?? ((line: string) => console.log(line));
  const now = options.now ?? (() => performance.now());
  const every = options.progressEveryMs ?? 5000;
  const target = format(options.customers);
  if (store.embedded) log(EMBEDDED_SEED_WARNING);
  log(`Seeding ${target} customers (seed ${options.seed}) into ${store.database.id} at ${store.endpoint}`);

  const started = now();
  let lastReport = started;
  let generated = 0;
  function* counted() {
    for (const records of iterateCustomerRecords({ customers: options.customers, seed: options.seed })) {
      generated += 1;
      yield records;
    }
  }
  const counts = await loadSampleData(store, counted(), {
    ...(options.batchSize ? { batchSize: options.batchSize } : {}),
    ...(options.concurrency ? { concurrency: options.concurrency } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    onProgress: ({ written }) => {
      const at = now();
      if (at - lastReport < every) return;
      lastReport = at;
      log(
        `  ${format(generated)}/${target} customers generated, ${format(written)} records written, ` +
          `${format(rate(written, at - started))} records/s`,
      );
    },
  });
  const records = Object.values(counts).reduce((sum, n) => sum + n, 0);
  const elapsed = now() - started;
  const result: SeedResult = {
    counts,
    records,
    seconds: Math.round(elapsed / 100) / 10,
    recordsPerSecond: rate(records, elapsed),
  };
  log(
    `Seeded ${format(records)} records in ${result.seconds} s (${format(result.recordsPerSecond)} records/s): ` +
      Object.entries(counts)
        .map(([name, n]) => `${name} ${format(n)}`)
        .join(', '),
  );
  return result;
}

function rate(records: number, ms: number): number {
  return ms <= 0 ? 0 : Math.round((records * 1000) / ms);
}

function format(n: number): string {
  return n.toLocaleString('en-US');
}
