import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import { freePort } from './free-port.ts';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

export interface LocalRedis {
  url: string;
  /** A private redis-server was started for this run (stopped by close and on exit). */
  started: boolean;
  close(): Promise<void>;
}

/** Whether something answers PING with +PONG at `url` within `timeoutMs` (a bare TCP exchange, no client). */
export function redisAnswers(url: string, timeoutMs = 1000): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((done) => {
    const socket = connect({ host: hostname.replace(/^\[|\]$/g, ''), port: Number(port || 6379) });
    const finish = (ok: boolean) => {
      socket.destroy();
      done(ok);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once('error', () => finish(false));
    // A password-protected server answers -NOAUTH: it is there, and the URL's credentials are the client's business.
    socket.once('data', (chunk) => finish(/^(\+PONG|-NOAUTH)/.test(chunk.toString())));
    socket.once('connect', () => socket.write('PING\r\n'));
  });
}

/**
 * The dev launchers' Redis: the one at `url` when it answers; else, when a `redis-server` binary
 * is on PATH, a private one on a free loopback port (no persistence, its directory under
 * `dataDir`), stopped on close and when the process exits; else one line saying how to fix it,
 * and exit 1. A stack trace is no way to say "start Redis".
 */
export async function ensureLocalRedis(options: {
  url: string;
  dataDir: string;
  print?: (line: string) => void;
  redisServer?: string;
}): Promise<LocalRedis> {
  const print = options.print ?? ((line: string) => process.stderr.write(`${line}\n`));
  if (await redisAnswers(options.url)) return { url: options.url, started: false, close: async () => {} };
  const binary = options.redisServer ?? 'redis-server';
  if (spawnSync(binary, ['--version'], { stdio: 'ignore' }).status !== 0) {
    print(
      `No Redis at ${redacted(options.url)} and no redis-server on PATH: start Redis (apt-get install redis-server, brew install redis, or docker run -p 6379:6379 redis:7) or set REDIS_URL to one.`,
    );
    process.exit(1);
  }
  const port = await freePort();
  const dir = resolve(join(options.dataDir, `redis-${port}`));
  await mkdir(dir, { recursive: true });
  const child: ChildProcess = spawn(
    binary,
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  // Whatever ends this process (Ctrl+C, SIGTERM, an error), the private server goes with it.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const url = `redis://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  while (!(await redisAnswers(url, 200))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      killOnExit();
      print(`No Redis at ${redacted(options.url)}, and a private redis-server on port ${port} did not start.`);
      process.exit(1);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  print(
    `No Redis at ${redacted(options.url)}: started a private redis-server at ${url} (data in ${dir}); it stops with this process.`,
  );
  return {
    url,
    started: true,
    async close() {
      process.off('exit', killOnExit);
      if (child.exitCode === null && child.signalCode === null) {
        await new Promise<void>((done) => {
          child.once('exit', () => done());
          child.kill('SIGTERM');
        });
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function redacted(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString().replace(/\/$/, '');
  } catch {
    return 'REDIS_URL';
  }
}
