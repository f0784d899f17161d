import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A redis-server of the test's own, on a free port, with AOF fsynced on every write, that can be stopped, killed and restarted on its data. */
export interface RedisServerProcess {
  readonly url: string;
  readonly port: number;
  start(): Promise<void>;
  /** SIGSTOP: connections stay open and hang, as a frozen or partitioned Redis does. */
  freeze(): void;
  /** SIGKILL; the AOF keeps every acknowledged write. */
  kill(): Promise<void>;
  /** Runs `onCommand` for every command Redis executes (MONITOR), until the returned function is called. */
  monitor(onCommand: (line: string) => void): Promise<() => void>;
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function startRedisServer(): Promise<RedisServerProcess> {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'redis-test-'));
  let child: ChildProcess | undefined;

  const waitReady = async () => {
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const ok = await new Promise<boolean>((resolve) => {
        const s = connect(port, '127.0.0.1');
        s.once('connect', () => {
          s.write('PING\r\n');
        });
        s.once('data', (d) => {
          s.destroy();
          resolve(d.toString().startsWith('+PONG'));
        });
        s.once('error', () => resolve(false));
      });
      if (ok) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`redis-server on ${port} did not start`);
  };

  const handle: RedisServerProcess = {
    url: `redis://127.0.0.1:${port}`,
    port,
    async start() {
      child = spawn(
        'redis-server',
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--dir',
          dir,
          '--save',
          '',
          '--appendonly',
          'yes',
          '--appendfsync',
          'always',
        ],
        { stdio: 'ignore' },
      );
      await waitReady();
    },
    freeze() {
      child?.kill('SIGSTOP');
    },
    async kill() {
      const c = child;
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      const exited = new Promise((r) => c.once('exit', r));
      c.kill('SIGKILL');
      await exited;
    },
    async monitor(onCommand) {
      const socket: Socket = connect(port, '127.0.0.1');
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
    },
    async close() {
      await handle.kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
  await handle.start();
  return handle;
}
