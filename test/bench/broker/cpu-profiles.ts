import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { summarize } from '../mcp/profile-summary.ts';

export interface ChildProfile {
  file: string;
  busyMs: number;
  byPackage: [string, number][];
}

const r2 = (x: number) => Math.round(x * 100) / 100;

/** Node flags that make a child write its CPU profile under the run's log dir, when it is one to profile. */
export function cpuProfFlags(logDir: string, profiled: readonly string[], name: string): string[] {
  return profiled.includes(name) ? ['--cpu-prof', `--cpu-prof-dir=${join(logDir, `prof-${name}`)}`] : [];
}

/**
 * Reads the profile each stopped child wrote (see `cpuProfFlags`): busy time and the top packages'
 * shares of it, in percent. A child that wrote none adds a warning.
 */
export async function collectCpuProfiles<N extends string>(
  logDir: string,
  names: readonly N[],
  warnings: string[],
): Promise<Partial<Record<N, ChildProfile>>> {
  const profiles: Partial<Record<N, ChildProfile>> = {};
  for (const name of names) {
    const dir = join(logDir, `prof-${name}`);
    const file = (await readdir(dir).catch(() => [] as string[])).find((f) => f.endsWith('.cpuprofile'));
    if (!file) {
      warnings.push(`no CPU profile written for ${name}`);
      continue;
    }
    const s = summarize(JSON.parse(await readFile(join(dir, file), 'utf8')), [], 0);
    const busy = s.totalMs - s.idleMs;
    profiles[name] = {
      file: join(dir, file),
      busyMs: Math.round(busy),
      byPackage: s.byPackage.slice(0, 12).map(([k, v]) => [k, r2((100 * v) / busy)]),
    };
  }
  return profiles;
}
