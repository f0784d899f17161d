/**
 * `bench:salesforce` child (a): the baseline, a bare jsforce streaming subscriber that only
 * counts events. It logs in with client credentials, subscribes with jsforce's `Replay`
 * extension from -2 (every retained event, as the broker's channel does with
 * `initialReplay: all-retained`) and counts distinct replay ids until it has seen them all.
 * Nothing is mapped, recorded or checkpointed. Its own process, so its peak RSS is its own.
 * Env: BENCH_SF_LOGIN_URL, BENCH_SF_CLIENT_ID, BENCH_SF_CLIENT_SECRET, BENCH_SF_API_VERSION,
 * BENCH_SF_CHANNEL, BENCH_SF_EVENTS.
 */
import jsforce from 'jsforce';
import { StreamingExtension } from 'jsforce/lib/api/streaming.js';
import { announceReady, requiredEnv, serveParent } from '../mcp/ipc.ts';
import { peakRssMiB, rssMiB } from './process-memory.ts';

const expected = Number(requiredEnv('BENCH_SF_EVENTS'));
const channel = requiredEnv('BENCH_SF_CHANNEL');
const oauth2 = {
  loginUrl: requiredEnv('BENCH_SF_LOGIN_URL'),
  clientId: requiredEnv('BENCH_SF_CLIENT_ID'),
  clientSecret: requiredEnv('BENCH_SF_CLIENT_SECRET'),
};

interface FayeClient {
  subscribe(channel: string, listener: (data: unknown) => void): PromiseLike<unknown>;
  disconnect(): PromiseLike<unknown> | undefined;
}

async function drain() {
  const conn = new jsforce.Connection({ oauth2, version: requiredEnv('BENCH_SF_API_VERSION') });
  await conn.authorize({ grant_type: 'client_credentials' });
  const rssBefore = rssMiB();
  const seen = new Set<number>();
  let duplicates = 0;
  const started = performance.now();
  let lastAt = started;
  const client = conn.streaming.createClient([new StreamingExtension.Replay(channel, -2)]) as unknown as FayeClient;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`only ${seen.size} of ${expected} events within 30 min`)),
      1_800_000,
    );
    void client.subscribe(channel, (data) => {
      const replayId = (data as { event?: { replayId?: number } }).event?.replayId;
      if (typeof replayId !== 'number') return;
      if (seen.has(replayId)) duplicates += 1;
      seen.add(replayId);
      lastAt = performance.now();
      if (seen.size >= expected) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  const seconds = (lastAt - started) / 1000;
  await Promise.resolve(client.disconnect()).catch(() => {});
  return {
    events: seen.size,
    duplicates,
    seconds,
    eventsPerSecond: seen.size / seconds,
    rssBeforeMiB: rssBefore,
    peakRssMiB: peakRssMiB(),
  };
}

serveParent({ drain }, async () => {});
announceReady({ pid: process.pid });
