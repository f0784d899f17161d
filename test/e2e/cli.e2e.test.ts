import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { lifecycle, ToolCallRepository } from '@mcp-broker/broker';
import { freePort } from '@mcp-broker/redis-process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrokerStack, REDIS_URL, settledCall, startBrokerStack } from '../support/broker-stack.ts';
import { brokerTestTools } from '../support/broker-test-tools.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const cliMain = join(root, 'services/cli/src/main.ts');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  // biome-ignore lint/suspicious/noExplicitAny: the CLI's --json output, read field by field by the assertions.
  json: () => any;
}

/** The real CLI as a child process, as an operator runs it. */
function cli(args: string[], env: Record<string, string> = {}, command = [process.execPath, cliMain]): Promise<Run> {
  return new Promise((resolve) => {
    const [file, ...pre] = command as [string, ...string[]];
    execFile(
      file,
      [...pre, ...args],
      { cwd: root, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env }, timeout: 60_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr, json: () => JSON.parse(stdout) });
      },
    );
  });
}

let stack: BrokerStack;
let dir: string;
let configPath: string;
const password = (auth: string) => Buffer.from(auth.slice(6), 'base64').toString().split(':')[1] ?? '';
let as: (caller: 'caller-a' | 'admin') => Record<string, string>;

async function deadLetter(caller: string, message: string): Promise<string> {
  const repository = new ToolCallRepository({ store: stack.store });
  const { record } = await repository.create(caller, 'local', {
    tool: 'test_echo',
    arguments: { message },
    idempotencyKey: randomUUID(),
    source: { kind: 'api' },
    writeBack: [],
    correlation: { requestId: 'cli-test' },
  });
  await repository.apply(caller, record.id, (current, now) =>
    lifecycle.deadLetter(current, now, { code: 'UPSTREAM_UNAVAILABLE', message: 'gave up after 4 attempts' }),
  );
  return record.id;
}

beforeAll(async () => {
  stack = await startBrokerStack({ tools: brokerTestTools, callbackHost: 'hooks.example.com', roles: ['Test.Echo'] });
  dir = mkdtempSync(join(tmpdir(), 'mcp-broker-cli-'));
  configPath = join(dir, 'broker.json');
  writeFileSync(configPath, JSON.stringify(stack.broker));
  as = (caller) => ({
    MCP_BROKER_URL: stack.ingressUrl,
    MCP_BROKER_USER: caller,
    MCP_BROKER_PASSWORD: password(stack.auth(caller)),
  });
}, 120_000);
afterAll(async () => {
  await stack?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('mcp-broker: usage errors exit 2', () => {
  it.each([
    [[], 'Usage: mcp-broker'],
    [['frobnicate'], 'Unknown command "frobnicate"'],
    [['calls', 'show'], 'Missing ID'],
    [['calls', 'list', '--limit', 'many'], '--limit must be a whole number'],
    [['calls', 'list', '--caller', 'x'], 'takes no --caller'],
    [['calls', 'list', '--status', 'bogus'], '--status must be one of'],
    [['replay'], 'Missing ID or --all --caller X'],
    [['replay', '--all'], 'Missing --caller X'],
    [['dead-letters', 'list', '--nope'], "Unknown option '--nope'"],
    [['config', 'validate'], 'Missing FILE'],
  ])('%j', async (args, message) => {
    const run = await cli(args, as('admin'));
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
  });

  it('says how to give credentials when there are none (2), and prints help with exit 0', async () => {
    const run = await cli(['calls', 'list'], { MCP_BROKER_URL: stack.ingressUrl });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('set MCP_BROKER_USER and MCP_BROKER_PASSWORD');
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('replay --all --caller X');
  });
});

describe('mcp-broker config validate', () => {
  it('lists every problem with its path and exits 1 (JSON with --json)', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(
      file,
      [
        'endpoints:',
        '  local: { url: not-a-url }',
        'callers:',
        '  - id: a',
        '    auth: { type: basic, username: a }',
        '    upstream: { endpoint: missing, credential: { type: managed-identity, scope: s } }',
        '    tools: []',
        '    admin: "yes"',
      ].join('\n'),
    );
    const text = await cli(['config', 'validate', file]);
    expect(text.code).toBe(1);
    expect(text.stdout).toContain('endpoints.local.url');
    expect(text.stdout).toContain('callers.0.auth.passwordHash');
    expect(text.stdout).toContain('callers.0.tools');
    expect(text.stdout).toContain('callers.0.admin');
    const json = await cli(['config', 'validate', file, '--json']);
    expect(json.code).toBe(1);
    const paths = (json.json().issues as Array<{ path: string }>).map((i) => i.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'endpoints.local.url',
        'callers.0.auth.passwordHash',
        'callers.0.tools',
        'callers.0.admin',
      ]),
    );
  });

  it('refuses a file that is not YAML or does not exist (1), and accepts a valid one (0)', async () => {
    const broken = join(dir, 'broken.yaml');
    writeFileSync(broken, 'callers: [unclosed');
    const notYaml = await cli(['config', 'validate', broken, '--json']);
    expect(notYaml.code).toBe(1);
    expect(notYaml.json().issues[0]).toMatchObject({
      path: '(file)',
      message: expect.stringContaining('not valid YAML'),
    });
    const missing = await cli(['config', 'validate', join(dir, 'nope.yaml')]);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toContain('cannot read: ENOENT');
    const valid = await cli(['config', 'validate', configPath]);
    expect(valid.code).toBe(0);
    expect(valid.stdout).toContain('valid (3 callers, 1 endpoints)');
  });

  it('runs as `npx mcp-broker` from the repository root (the workspace bin)', async () => {
    const run = await cli(['config', 'validate', configPath, '--json'], {}, ['npx', '--no-install', 'mcp-broker']);
    expect(run.code).toBe(0);
    expect(run.json()).toMatchObject({ valid: true, callers: 3 });
  });
});

describe('mcp-broker against a refusing or absent broker', () => {
  it('exits 1 with the API error code for a wrong password and for a non-admin listing dead letters', async () => {
    const wrong = await cli(['calls', 'list', '--json'], {
      ...as('caller-a'),
      MCP_BROKER_PASSWORD: 'not-the-password-x7',
    });
    expect(wrong.code).toBe(1);
    expect(wrong.json().error).toMatchObject({ code: 'BROKER_CREDENTIALS_INVALID', status: 401 });
    expect(wrong.stderr).not.toContain('not-the-password-x7');
    const notAdmin = await cli(['dead-letters', 'list'], as('caller-a'));
    expect(notAdmin.code).toBe(1);
    expect(notAdmin.stderr).toMatch(/BROKER_ADMIN_REQUIRED \(HTTP 403, request \S+\)/);
  });

  it('exits 1 naming the address when the ingress or Redis is unreachable', async () => {
    const port = await freePort();
    const api = await cli(['calls', 'list'], { ...as('admin'), MCP_BROKER_URL: `http://127.0.0.1:${port}` });
    expect(api.code).toBe(1);
    expect(api.stderr).toContain(`Cannot reach the broker API at http://127.0.0.1:${port} (ECONNREFUSED)`);
    const redis = await cli(['status', '--config', configPath, '--redis-url', `redis://:secret@127.0.0.1:${port}`]);
    expect(redis.code).toBe(1);
    expect(redis.stderr).toContain('CLI_REDIS_UNREACHABLE');
    expect(redis.stderr).not.toContain('secret');
  });

  it('answers 404 for a call of another caller (1)', async () => {
    const run = await cli(['calls', 'show', 'tc_doesnotexist', '--json'], as('caller-a'));
    expect(run.code).toBe(1);
    expect(run.json().error.status).toBe(404);
  });
});

describe('mcp-broker status, calls, dead letters and replay', () => {
  it('status shows each caller queue with its depth, the write-backs and the dead letters', async () => {
    // A paused caller queue keeps a job waiting, so the depth is there to read.
    const { BrokerQueues } = await import('@mcp-broker/broker');
    const { Redis } = await import('ioredis');
    const redis = new Redis(REDIS_URL);
    const queues = new BrokerQueues({ connection: redis, prefix: stack.prefix });
    await queues.toolCallQueue('caller-b').pause();
    await queues.toolCallQueue('caller-b').add('tool-call', { caller: 'caller-b', callId: 'tc_waiting' } as never, {
      jobId: 'tc_waiting',
    });
    const dead = await deadLetter('caller-b', 'status-dead');
    try {
      const run = await cli(['status', '--config', configPath, '--redis-url', REDIS_URL, '--json'], as('admin'));
      expect(run.code, run.stderr).toBe(0);
      const status = run.json();
      expect(status.queues.map((q: { queue: string }) => q.queue)).toEqual([
        'tool-calls.caller-a',
        'tool-calls.caller-b',
        'tool-calls.admin',
        'write-backs',
      ]);
      const b = status.queues.find((q: { queue: string }) => q.queue === 'tool-calls.caller-b');
      expect(b).toMatchObject({ caller: 'caller-b', paused: true });
      expect(b.counts.waiting).toBe(1);
      expect(status.deadLetters.byCaller['caller-b']).toBeGreaterThanOrEqual(1);
      const text = await cli(['status', '--config', configPath, '--redis-url', REDIS_URL]);
      expect(text.code).toBe(0);
      expect(text.stdout).toMatch(/tool-calls\.caller-b .* PAUSED/);
      expect(text.stdout).toContain('Dead letters: unknown (set MCP_BROKER_USER');
      expect(text.stdout).toContain('Salesforce channels: none configured');
    } finally {
      await queues.toolCallQueue('caller-b').obliterate({ force: true });
      await queues.close();
      redis.disconnect();
      const replay = await cli(['replay', dead], as('admin'));
      expect(replay.code).toBe(0);
    }
  });

  it('calls list and calls show read the caller’s own calls', async () => {
    const submitted = await fetch(`${stack.ingressUrl}/v1/tool-calls`, {
      method: 'POST',
      headers: {
        authorization: stack.auth('caller-a'),
        'content-type': 'application/json',
        'idempotency-key': randomUUID(),
      },
      body: JSON.stringify({ tool: 'test_echo', arguments: { message: 'from-cli-test' } }),
    });
    const { id } = (await submitted.json()) as { id: string };
    await settledCall(stack, id);
    const show = await cli(['calls', 'show', id, '--json'], as('caller-a'));
    expect(show.code, show.stderr).toBe(0);
    expect(show.json()).toMatchObject({ id, status: 'succeeded', tool: 'test_echo' });
    const text = await cli(['calls', 'show', id], as('caller-a'));
    expect(text.stdout).toContain(`${id}  test_echo  succeeded`);
    const list = await cli(['calls', 'list', '--status', 'succeeded', '--limit', '5', '--json'], as('caller-a'));
    expect(list.code).toBe(0);
    expect(list.json().items.map((c: { id: string }) => c.id)).toContain(id);
  });

  it('dead-letters list, replay ID and replay --all --caller: every dead letter runs again, once', async () => {
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push(await deadLetter('caller-a', `dead-${i}`));
    const list = await cli(['dead-letters', 'list', '--caller', 'caller-a', '--json'], as('admin'));
    expect(list.code, list.stderr).toBe(0);
    expect(
      list
        .json()
        .items.map((d: { id: string }) => d.id)
        .sort(),
    ).toEqual([...ids].sort());

    const one = await cli(['replay', ids[0] as string], as('admin'));
    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout).toContain(`replayed: ${ids[0]} is queued again`);
    const again = await cli(['replay', ids[0] as string, '--json'], as('admin'));
    expect(again.code).toBe(1);
    // No longer a dead letter: a second replay finds none (404), so one call never runs twice from here.
    expect(again.json().error).toMatchObject({ code: 'BROKER_CALL_NOT_FOUND', status: 404 });

    const all = await cli(['replay', '--all', '--caller', 'caller-a', '--json'], as('admin'));
    expect(all.code, all.stderr).toBe(0);
    expect(all.json()).toMatchObject({ caller: 'caller-a', replayed: 2, more: false });
    expect(all.json().replayedIds.sort()).toEqual(ids.slice(1).sort());

    const left = await cli(['dead-letters', 'list', '--caller', 'caller-a'], as('admin'));
    expect(left.stdout).toContain('No dead letters.');
    for (const id of ids) expect((await settledCall(stack, id)).status).toBe('succeeded');
  });

  it('schedules list answers the caller’s schedules (none here)', async () => {
    const run = await cli(['schedules', 'list'], as('caller-a'));
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('No schedules.');
  });
});
