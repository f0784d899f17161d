/**
 * Summarises a V8 `.cpuprofile` (from `BENCH_CPU_PROF=governed npm run bench`): CPU time by
 * package (self time), the hottest functions (self time), and inclusive time of functions whose
 * name matches a pattern (time spent in them and everything they call).
 *
 *   node test/bench/mcp/profile-summary.ts <file.cpuprofile> [--top 30] [--match verify,consume]
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileSummary {
  totalMs: number;
  idleMs: number;
  byPackage: [string, number][];
  topSelf: [string, number][];
  inclusive: [string, number][];
}

/** The package (or area) a script URL belongs to. */
export function packageOf(url: string): string {
  if (url === '') return '(native/V8)';
  if (url.startsWith('node:')) return 'node:internals';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + '/node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const ws = /\/(services|shared|test)\/([^/]+)\//.exec(url);
  if (ws) return `workspace:${ws[1]}/${ws[2]}`;
  return url;
}

export function summarize(profile: CpuProfile, matchers: string[], top: number): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const label = (n: ProfileNode) => {
    const file = n.callFrame.url.split('/').slice(-2).join('/');
    return `${n.callFrame.functionName || '(anonymous)'} ${file}:${n.callFrame.lineNumber + 1}`;
  };
  const self = new Map<number, number>();
  let total = 0;
  for (let i = 0; i < profile.samples.length; i += 1) {
    const dt = (profile.timeDeltas[i + 1] ?? 0) / 1000;
    const id = profile.samples[i]!;
    self.set(id, (self.get(id) ?? 0) + dt);
    total += dt;
  }
  const byPackage = new Map<string, number>();
  const topSelf = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let idle = 0;
  for (const [id, ms] of self) {
    const node = byId.get(id)!;
    const name = node.callFrame.functionName;
    if (name === '(idle)') {
      idle += ms;
      continue;
    }
    const pkg = ['(garbage collector)', '(program)'].includes(name) ? name : packageOf(node.callFrame.url);
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + ms);
    topSelf.set(label(node), (topSelf.get(label(node)) ?? 0) + ms);
    if (matchers.length > 0) {
      const seen = new Set<string>();
      for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
        const fn = byId.get(cur)!.callFrame.functionName;
        for (const m of matchers) {
          if (fn === m && !seen.has(m)) {
            seen.add(m);
            inclusive.set(m, (inclusive.get(m) ?? 0) + ms);
          }
        }
      }
    }
  }
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]);
  return {
    totalMs: total,
    idleMs: idle,
    byPackage: sorted(byPackage),
    topSelf: sorted(topSelf).slice(0, top),
    inclusive: sorted(inclusive),
  };
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { top: { type: 'string', default: '30' }, match: { type: 'string', default: '' } },
  });
  const file = positionals[0];
  if (!file) throw new Error('usage: profile-summary.ts <file.cpuprofile> [--top N] [--match fn1,fn2]');
  const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  const matchers = values.match.split(',').filter(Boolean);
  const s = summarize(profile, matchers, Number(values.top));
  const busy = s.totalMs - s.idleMs;
  const pct = (ms: number) => `${((100 * ms) / busy).toFixed(1).padStart(5)} %`;
  console.log(`profile: ${(s.totalMs / 1000).toFixed(1)} s, busy ${(busy / 1000).toFixed(1)} s (percentages of busy)`);
  console.log('\nself time by package:');
  for (const [k, v] of s.byPackage.slice(0, 25)) console.log(`  ${pct(v)}  ${k}`);
  console.log('\nhottest functions (self):');
  for (const [k, v] of s.topSelf) console.log(`  ${pct(v)}  ${k}`);
  if (s.inclusive.length) {
    console.log('\ninclusive time:');
    for (const [k, v] of s.inclusive) console.log(`  ${pct(v)}  ${k}`);
  }
}
