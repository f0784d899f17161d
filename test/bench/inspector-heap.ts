import { createWriteStream } from 'node:fs';
import { createServer } from 'node:net';

/** A free TCP port on 127.0.0.1 for a child's `--inspect` (bench children only). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface HeapAfterGc {
  heapUsedMiB: number;
  heapTotalMiB: number;
  externalMiB: number;
  arrayBuffersMiB: number;
  rssMiB: number;
}

/**
 * The heap of a child started with `--inspect=127.0.0.1:<port>`, read after a full GC through the
 * inspector protocol (HeapProfiler.collectGarbage, then `process.memoryUsage()`): what the process
 * still holds, unlike its RSS, which keeps the peak the allocator reached. Needs no hook in the child.
 * With `snapshotTo`, a heap snapshot (`.heapsnapshot`, for DevTools or `heap-summary.ts`) is written there too.
 */
export async function heapAfterFullGc(port: number, snapshotTo?: string): Promise<HeapAfterGc> {
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as {
    webSocketDebuggerUrl: string;
  }[];
  const url = targets[0]?.webSocketDebuggerUrl;
  if (!url) throw new Error(`no inspector target on port ${port}`);
  const ws = new WebSocket(url);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  let next = 0;
  const pending = new Map<number, (result: unknown) => void>();
  const snapshot = snapshotTo ? createWriteStream(snapshotTo) : undefined;
  ws.onmessage = (event) => {
    const message = JSON.parse(String(event.data)) as {
      id?: number;
      result?: unknown;
      method?: string;
      params?: { chunk?: string };
    };
    if (message.method === 'HeapProfiler.addHeapSnapshotChunk') snapshot?.write(message.params?.chunk ?? '');
    if (message.id !== undefined) pending.get(message.id)?.(message.result);
  };
  const send = (method: string, params: object = {}) =>
    new Promise<unknown>((resolve) => {
      const id = ++next;
      pending.set(id, resolve);
      ws.send(JSON.stringify({ id, method, params }));
    });
  try {
    // Twice: the first pass runs finalizers whose garbage the second collects.
    await send('HeapProfiler.collectGarbage');
    await send('HeapProfiler.collectGarbage');
    const evaluated = (await send('Runtime.evaluate', {
      expression: 'JSON.stringify(process.memoryUsage())',
      returnByValue: true,
    })) as { result: { value: string } };
    const usage = JSON.parse(evaluated.result.value) as NodeJS.MemoryUsage;
    if (snapshot) {
      await send('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
      await new Promise((resolve) => snapshot.end(resolve));
    }
    const mib = (n: number) => Math.round((n / 1024 / 1024) * 100) / 100;
    return {
      heapUsedMiB: mib(usage.heapUsed),
      heapTotalMiB: mib(usage.heapTotal),
      externalMiB: mib(usage.external),
      arrayBuffersMiB: mib(usage.arrayBuffers),
      rssMiB: mib(usage.rss),
    };
  } finally {
    ws.close();
  }
}
