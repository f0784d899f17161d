import { describe, expect, it } from 'vitest';
import { BrokerConfigError, parseBrokerConfig } from './load-broker-config.ts';

const caller = (id: string, tools: string[]) => ({
  id,
  auth: { type: 'basic', username: id, passwordHash: 'scrypt$2$8$1$c2FsdA==$aGFzaA==' },
  upstream: {
    endpoint: 'local',
    credential: {
      type: 'client-credentials',
      tokenUrl: 'http://127.0.0.1:1/token',
      clientId: id,
      clientSecret: { fromEnv: 'UNUSED' },
      scope: 's',
    },
  },
  tools,
});

const workspace = (over: Record<string, unknown> = {}) => ({
  id: 'lakehouse',
  caller: 'data-team',
  host: 'https://adb-1.7.azuredatabricks.net',
  workspaceId: '1234567890123456',
  auth: { type: 'oauth-m2m', clientId: 'sp-id', clientSecret: { fromEnv: 'DATABRICKS_SECRET' } },
  ...over,
});

const source = (over: Record<string, unknown> = {}, route: Record<string, unknown> = {}) => ({
  id: 'nightly',
  workspace: 'lakehouse',
  caller: 'data-team',
  auth: { username: 'databricks', passwordHash: 'scrypt$2$8$1$c2FsdA==$aGFzaA==' },
  routes: [
    {
      match: { jobName: 'nightly-scoring', eventTypes: ['jobs.on_success'] },
      tool: 'analyze_sales_data',
      arguments: '{ "from": output.json.from, "to": output.json.to }',
      writeBack: [
        { type: 'databricks-sql', workspace: 'lakehouse', warehouseId: 'wh-1', table: 'main.ops.tool_calls' },
      ],
      ...route,
    },
  ],
  ...over,
});

function parse(databricks: unknown) {
  return parseBrokerConfig(
    JSON.stringify({
      endpoints: { local: { url: 'http://127.0.0.1:1/mcp' } },
      callers: [caller('data-team', ['analyze_sales_data']), caller('other', ['*'])],
      databricks,
    }),
    'broker.json',
  );
}

function problems(databricks: unknown): string {
  try {
    parse(databricks);
  } catch (error) {
    expect(error).toBeInstanceOf(BrokerConfigError);
    return (error as Error).message;
  }
  throw new Error('the configuration was accepted');
}

describe('databricks configuration', () => {
  it('refuses a route whose arguments are not JSONata, naming the field', () => {
    expect(problems({ workspaces: [workspace()], webhookSources: [source({}, { arguments: '{ "a": ' })] })).toMatch(
      /databricks\.webhookSources\.0\.routes\.0\.arguments: not a valid JSONata expression/,
    );
  });

  it('refuses a source on an unknown workspace or caller, and a tool off the caller’s allowlist', () => {
    const message = problems({
      workspaces: [workspace()],
      webhookSources: [
        source({ workspace: 'nope' }),
        source({ id: 'b', caller: 'ghost' }),
        source({ id: 'c' }, { tool: 'query_data' }),
      ],
    });
    expect(message).toMatch(/databricks\.webhookSources\.0\.workspace: unknown workspace "nope"; known: lakehouse/);
    expect(message).toMatch(/databricks\.webhookSources\.1\.caller: unknown caller "ghost"/);
    expect(message).toMatch(
      /databricks\.webhookSources\.2\.routes\.0\.tool: tool "query_data" is not on caller "data-team"/,
    );
  });

  it('refuses an inline secret, an unknown event type and a plain password', () => {
    const message = problems({
      workspaces: [workspace({ auth: { type: 'token', token: 'dapi123' } })],
      webhookSources: [
        source(
          { auth: { username: 'u', passwordHash: 'hunter2' } },
          { per: 'row', match: { eventTypes: ['jobs.on_finish'] } },
        ),
      ],
    });
    expect(message).toMatch(/databricks\.workspaces\.0\.auth\.token/);
    expect(message).toMatch(/databricks\.webhookSources\.0\.auth\.passwordHash: an scrypt hash/);
    expect(message).toMatch(/databricks\.webhookSources\.0\.routes\.0\.match\.eventTypes\.0/);
  });

  it('refuses per: row without a rows expression', () => {
    expect(problems({ workspaces: [workspace()], webhookSources: [source({}, { per: 'row' })] })).toMatch(
      /databricks\.webhookSources\.0\.routes\.0\.rows: per: row needs a rows expression/,
    );
  });

  it('refuses duplicate workspace and source ids', () => {
    const message = problems({ workspaces: [workspace(), workspace()], webhookSources: [source(), source()] });
    expect(message).toMatch(/databricks\.workspaces\.1\.id: duplicate workspace id "lakehouse"/);
    expect(message).toMatch(/databricks\.webhookSources\.1\.id: duplicate webhook source id "nightly"/);
  });

  it('accepts a full section with defaults, and no section at all', () => {
    const config = parse({ workspaces: [workspace()], webhookSources: [source()] });
    expect(config.databricks.workspaces[0]?.requestTimeoutMs).toBe(30_000);
    expect(config.databricks.webhookSources[0]?.routes[0]).toMatchObject({
      per: 'task',
      truncatedOutput: 'refuse',
      maxCalls: 100,
    });
    expect(parse(undefined).databricks).toEqual({ workspaces: [], webhookSources: [] });
  });
});
