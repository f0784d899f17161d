import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Redis } from 'ioredis';

const live = new Set<ChildProcess>();

/** Last-resort cleanup on exit paths that cannot await: SIGKILL every redis-server this run started. */
export function killAllRedis(): void {
  for (const proc of live) if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  live.clear();
}

/**
 * A redis-server of the chaos run's own, on a free loopback port, so it can be killed and restarted
 * without touching the shared Redis on 6379. `kill()` is SIGKILL; `start({ keepData })` starts it
 * again on the same port, with the same data directory (AOF replayed) or with a fresh empty one
 * (as a failover to a replica that had not caught up).
 */
export class ChaosRedis {
  readonly port: number;
  readonly #root: string;
  readonly #aof: boolean;
  #dir: string;
  #generation = 0;
  #proc: ChildProcess | undefined;

  private constructor(port: number, root: string, aof: boolean) {
    this.port = port;
    this.#root = root;
    this.#aof = aof;
    this.#dir = join(root, 'data-0');
  }

  /** `aof`: append-only file with fsync on every write, so a kill loses nothing acknowledged. */
  static async start(options: { root: string; aof: boolean }): Promise<ChaosRedis> {
    const root = await mkdtemp(join(options.root, 'redis-'));
    const redis = new ChaosRedis(await freePort(), root, options.aof);
    await redis.start({ keepData: true });
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.#proc !== undefined && this.#proc.exitCode === null && this.#proc.signalCode === null;
  }

  async start({ keepData }: { keepData: boolean }): Promise<void> {
    if (this.running) return;
    if (!keepData) {
      this.#generation += 1;
      this.#dir = join(this.#root, `data-${this.#generation}`);
    }
    await mkdir(this.#dir, { recursive: true });
    const args = [
      '--port',
      String(this.port),
      '--bind',
      '127.0.0.1',
      '--dir',
      this.#dir,
      '--save',
      '',
      '--protected-mode',
      'yes',
      ...(this.#aof ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']),
    ];
    const proc = spawn('redis-server', args, { stdio: 'ignore' });
    this.#proc = proc;
    live.add(proc);
    proc.once('exit', () => live.delete(proc));
    const deadline = Date.now() + 15_000;
    for (;;) {
      const probe = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      probe.on('error', () => {});
      try {
        await probe.connect();
        // With AOF the server answers LOADING until the file is replayed.
        if ((await probe.ping()) === 'PONG') return;
      } catch {
        // not up yet
      } finally {
        probe.disconnect();
      }
      if (proc.exitCode !== null) throw new Error(`redis-server exited with ${proc.exitCode} on port ${this.port}`);
      if (Date.now() > deadline) throw new Error(`redis-server not answering on port ${this.port}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** SIGKILL: no shutdown save, no goodbye to clients. */
  async kill(): Promise<void> {
    const proc = this.#proc;
    if (!proc || !this.running) return;
    await new Promise<void>((resolve) => {
      proc.once('exit', () => resolve());
      proc.kill('SIGKILL');
    });
  }

  async close(): Promise<void> {
    await this.kill();
    await rm(this.#root, { recursive: true, force: true });
  }
}

/** A loopback port nothing listens on (bound and released). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
