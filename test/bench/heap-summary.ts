/**
 * `node test/bench/heap-summary.ts <a.heapsnapshot> [b.heapsnapshot]`: the largest object groups
 * (type and constructor name) of a V8 heap snapshot by self size, or with two snapshots the groups
 * that grew most from the first to the second: what a process keeps more of after more work.
 */
import { readFile } from 'node:fs/promises';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

async function groups(file: string): Promise<Map<string, { count: number; bytes: number }>> {
  const s = JSON.parse(await readFile(file, 'utf8')) as Snapshot;
  const fields = s.snapshot.meta.node_fields;
  const width = fields.length;
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f)) as [
    number,
    number,
    number,
  ];
  const types = s.snapshot.meta.node_types[0];
  const out = new Map<string, { count: number; bytes: number }>();
  for (let i = 0; i < s.nodes.length; i += width) {
    const type = types[s.nodes[i + typeAt] as number] ?? '?';
    const name = type === 'object' || type === 'closure' ? s.strings[s.nodes[i + nameAt] as number] : '';
    const key = `${type} ${name ?? ''}`.trim().slice(0, 80);
    const g = out.get(key) ?? { count: 0, bytes: 0 };
    g.count += 1;
    g.bytes += s.nodes[i + sizeAt] as number;
    out.set(key, g);
  }
  return out;
}

const [first, second] = process.argv.slice(2);
if (!first) throw new Error('usage: heap-summary.ts <a.heapsnapshot> [b.heapsnapshot]');
const a = await groups(first);
const b = second ? await groups(second) : undefined;
const rows = [...(b ?? a).entries()].map(([key, g]) => ({
  key,
  count: g.count - (b ? (a.get(key)?.count ?? 0) : 0),
  kib: Math.round((g.bytes - (b ? (a.get(key)?.bytes ?? 0) : 0)) / 1024),
}));
rows.sort((x, y) => y.kib - x.kib);
for (const r of rows.slice(0, 25))
  console.log(`${String(r.kib).padStart(9)} KiB ${String(r.count).padStart(8)}  ${r.key}`);
