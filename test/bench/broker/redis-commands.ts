import type { Redis } from 'ioredis';

/** Commands Redis has processed so far, by command (INFO commandstats). */
export async function redisCommandCounts(redis: Redis): Promise<Record<string, number>> {
  const byCommand: Record<string, number> = {};
  for (const m of (await redis.info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    byCommand[m[1]!] = Number(m[2]);
  }
  return byCommand;
}
