import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '@mcp-broker/redis-process';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dirs: string[] = [];
const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer()
      .once('error', () => resolve(false))
      .listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

function launch(command: string, args: string[], env: Record<string, string>) {
  const child = spawn(command, args, { cwd: root, env: { HOME: process.env.HOME ?? '', ...env } });
  children.push(child);
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (c) => {
    out.stdout += c;
  });
  child.stderr.on('data', (c) => {
    out.stderr += c;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, out, exited };
}

const redisServerOnPath = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].some((p) => existsSync(p));
/** PATH with node but without redis-server, where redis-server is in a system folder. */
const nodeOnlyPath = dirname(process.execPath);

describe('the dev launchers without a reachable Redis', () => {
  it('say so in one line, with how to fix it, when no redis-server is on PATH (exit 1)', async () => {
    const closed = await freePort();
    const run = launch(process.execPath, ['services/dev/src/main.ts'], {
      PATH: nodeOnlyPath,
      REDIS_URL: `redis://127.0.0.1:${closed}`,
      DEV_DATA_DIR: mkdtempSync(join(tmpdir(), 'mcpb-launcher-')),
    });
    expect(await run.exited).toBe(1);
    const lines = run.out.stderr.trim().split('\n');
    expect(lines).toEqual([
      `No Redis at redis://127.0.0.1:${closed} and no redis-server on PATH: start Redis (apt-get install redis-server, brew install redis, or docker run -p 6379:6379 redis:7) or set REDIS_URL to one.`,
    ]);
  }, 60_000);

  it.skipIf(!redisServerOnPath)(
    '`npm start` starts a private redis-server, prints the banner and the start-up call before "Stop with Ctrl+C", logs to a file, and kill -TERM of its pid frees every port',
    async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'mcpb-launcher-'));
      dirs.push(dataDir);
      const ports = {
        PORT: await freePort(),
        DEV_OAUTH_PORT: await freePort(),
        DEV_INGRESS_PORT: await freePort(),
        DEV_SALESFORCE_PORT: await freePort(),
      };
      const run = launch('npm', ['start', '--silent'], {
        PATH: process.env.PATH ?? '',
        ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
        REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
        DEV_DATA_DIR: dataDir,
        SAMPLE_CUSTOMERS: '30',
      });
      const deadline = Date.now() + 120_000;
      while (!run.out.stdout.includes('Stop with Ctrl+C.') && run.child.exitCode === null && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 200));
      expect(run.out.stdout, run.out.stderr).toContain('Stop with Ctrl+C.');

      const privateRedis = /started a private redis-server at redis:\/\/127\.0\.0\.1:(\d+) \(data in ([^)]+)\)/.exec(
        run.out.stderr,
      );
      expect(privateRedis, run.out.stderr).not.toBeNull();
      const redisPort = Number(privateRedis?.[1]);
      expect(privateRedis?.[2]?.startsWith(dataDir)).toBe(true);

      const stdout = run.out.stdout;
      // The start-up call's result comes before the last line; no log line is mixed into the banner.
      expect(stdout).toMatch(/Demo: submitted query_customer_data through the broker → 202[\s\S]*status succeeded/);
      expect(stdout.indexOf('status succeeded')).toBeLessThan(stdout.indexOf('Stop with Ctrl+C.'));
      expect(stdout.trimEnd().endsWith('Stop with Ctrl+C.')).toBe(true);
      expect(stdout).not.toContain('{"level"');
      expect(stdout).toContain(`Logs: ${join(dataDir, 'dev-stack.log')}`);
      expect(readFileSync(join(dataDir, 'dev-stack.log'), 'utf8')).toContain('"msg":"ingress listening"');

      process.kill(run.child.pid as number, 'SIGTERM');
      await run.exited;
      for (const [name, port] of Object.entries({ ...ports, redis: redisPort })) {
        await expect.poll(() => portIsFree(port), { timeout: 10_000, message: `${name} port ${port}` }).toBe(true);
      }
      expect(existsSync(privateRedis?.[2] as string)).toBe(false);
    },
    180_000,
  );
});
