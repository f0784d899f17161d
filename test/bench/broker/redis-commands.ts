import type { Redis } from 'ioredis';

const r2 = (x: number) => Math.round(x * 100) / 100;

/** Commands Redis has processed so far, by command (INFO commandstats). */
export async function redisCommandCounts(redis: Redis): Promise<Record<string, number>> {
  const byCommand: Record<string, number> = {};
  for (const m of (await redis.info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    byCommand[m[1]!] = Number(m[2]);
  }
  return byCommand;
}

/**
 * Per call, the commands Redis processed between two counts: in total (null with no calls), and the
 * `top` commands at 0.05 or more a call, most first.
 */
export function redisCommandsPerCall(
  start: Record<string, number>,
  end: Record<string, number>,
  calls: number,
  top: number,
): { total: number | null; byCommand: Record<string, number> } {
  const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);
  return {
    total: calls > 0 ? r2((sum(end) - sum(start)) / calls) : null,
    byCommand: Object.fromEntries(
      Object.entries(end)
        .map(([c, n]) => [c, (n - (start[c] ?? 0)) / Math.max(1, calls)] as const)
        .filter(([, n]) => n >= 0.05)
        .sort((a, b) => b[1] - a[1])
        .slice(0, top)
        .map(([c, n]) => [c, r2(n)]),
    ),
  };
}
