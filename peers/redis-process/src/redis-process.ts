import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './free-port.ts';

const live = new Set<ChildProcess>();

/** Last-resort cleanup on exit paths that cannot await: SIGKILL every redis-server this process started. */
export function killAllRedis(): void {
  for (const proc of live) if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  live.clear();
}

export interface RedisProcessOptions {
  /** Append-only file fsynced on every write, so a SIGKILL loses nothing acknowledged. Default false. */
  aof?: boolean;
  /** Where its data directories go (a fresh folder inside it). Default: the OS temp directory. */
  root?: string;
}

/**
 * A redis-server of the caller's own, on a free loopback port, so it can be frozen, killed and
 * restarted without touching the shared Redis on 6379. `kill()` is SIGKILL; `start({ keepData })`
 * starts it again on the same port, with the same data directory (AOF replayed) or with a fresh
 * empty one (as a failover to a replica that had not caught up).
 */
export class RedisProcess {
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

  static async start(options: RedisProcessOptions = {}): Promise<RedisProcess> {
    const root = await mkdtemp(join(options.root ?? tmpdir(), 'redis-'));
    const redis = new RedisProcess(await freePort(), root, options.aof ?? false);
    await redis.start();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.#proc !== undefined && this.#proc.exitCode === null && this.#proc.signalCode === null;
  }

  /** Starts it (again) on its port; `keepData: false` gives it a fresh, empty data directory. */
  async start({ keepData = true }: { keepData?: boolean } = {}): Promise<void> {
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
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** SIGSTOP: connections stay open and hang, as a frozen or partitioned Redis does. */
  freeze(): void {
    if (this.running) this.#proc?.kill('SIGSTOP');
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

  /** Runs `onCommand` for every command Redis executes (MONITOR), until the returned function is called. */
  async monitor(onCommand: (line: string) => void): Promise<() => void> {
    const socket: Socket = connect(this.port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => socket.once('connect', () => resolve()).once('error', reject));
    socket.on('error', () => {});
    let buffered = '';
    let subscribed: () => void = () => {};
    const ready = new Promise<void>((resolve) => {
      subscribed = resolve;
    });
    socket.on('data', (chunk) => {
      buffered += chunk.toString('utf8');
      let nl = buffered.indexOf('\r\n');
      while (nl >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 2);
        // MONITOR's own +OK: from here on every command is reported.
        if (line === '+OK') subscribed();
        else onCommand(line);
        nl = buffered.indexOf('\r\n');
      }
    });
    socket.write('MONITOR\r\n');
    await ready;
    return () => socket.destroy();
  }

  async close(): Promise<void> {
    await this.kill();
    await rm(this.#root, { recursive: true, force: true });
  }
}
