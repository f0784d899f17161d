import { describe, expect, it } from 'vitest';
import { table } from './printer.ts';
import { EXIT, runCli } from './run-cli.ts';

async function run(args: string[], env = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args, env, { stdout: (t) => out.push(t), stderr: (t) => err.push(t) });
  return { code, stdout: out.join(''), stderr: err.join('') };
}

describe('runCli: usage', () => {
  it('exits 2 on a bad command line, before reaching any service', async () => {
    for (const args of [[], ['nope'], ['calls'], ['calls', 'show'], ['batch-runs', 'show'], ['replay', 'x', 'y']]) {
      expect((await run(args)).code, args.join(' ')).toBe(EXIT.usage);
    }
  });

  it('answers a usage error as JSON too with --json, naming it CLI_USAGE', async () => {
    const r = await run(['calls', 'list', '--limit', '0', '--json']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toEqual({
      error: { code: 'CLI_USAGE', message: '--limit must be a whole number from 1 to 100.' },
    });
  });

  it('refuses --caller without --all for replay, and a flag another command takes', async () => {
    expect((await run(['replay', 'tc_1', '--caller', 'x'])).stderr).toContain('--caller goes with --all');
    expect((await run(['schedules', 'list', '--max', '3'])).stderr).toContain('schedules list takes no --max');
  });

  it('needs credentials for API commands, and never takes a password flag', async () => {
    expect((await run(['calls', 'list'])).stderr).toContain('set MCP_BROKER_USER and MCP_BROKER_PASSWORD');
    expect((await run(['calls', 'list', '--password', 'x'])).stderr).toContain("Unknown option '--password'");
  });

  it('prints help on --help with exit 0', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Exit codes: 0 done, 1 failed');
  });
});

describe('table', () => {
  it('pads each column to its widest cell', () => {
    expect(table(['a', 'bb'], [['xxx', 'y']])).toEqual(['a    bb', 'xxx  y']);
  });
});
