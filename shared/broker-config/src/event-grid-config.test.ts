import { describe, expect, it } from 'vitest';
import { assertSecretsPresent } from './check-secrets.ts';
import { BrokerConfigError, parseBrokerConfig } from './load-broker-config.ts';

const caller = {
  id: 'acme',
  auth: { type: 'basic', username: 'acme', passwordHash: 'scrypt$2$8$1$c2FsdA==$aGFzaA==' },
  upstream: {
    endpoint: 'local',
    credential: { type: 'managed-identity', scope: 'api://mcp/.default' },
  },
  tools: ['*'],
};

const HASH = `sha256:${'a'.repeat(64)}`;
const route = { eventType: 'Contoso.Orders.*', tool: 'generate_contract', arguments: '{ "order": data.orderId }' };

function parse(eventGrid: unknown) {
  return parseBrokerConfig(
    JSON.stringify({ endpoints: { local: { url: 'http://127.0.0.1:1/mcp' } }, callers: [caller], eventGrid }),
  );
}

function problems(eventGrid: unknown): string {
  try {
    parse(eventGrid);
  } catch (error) {
    expect(error).toBeInstanceOf(BrokerConfigError);
    return (error as Error).message;
  }
  throw new Error('the configuration was accepted');
}

describe('eventGrid configuration', () => {
  it('defaults to no subscriptions and no topics', () => {
    expect(parse(undefined).eventGrid).toEqual({ push: [], pull: [], topics: [] });
  });

  it('names an unknown caller, a duplicate id and a JSONata syntax error by their paths', () => {
    const text = problems({
      push: [
        { id: 'orders', caller: 'nobody', auth: { type: 'key', keyHash: HASH }, routes: [route] },
        {
          id: 'orders',
          caller: 'acme',
          auth: { type: 'key', keyHash: HASH },
          routes: [{ ...route, arguments: '{ "a": ' }],
        },
      ],
    });
    expect(text).toContain('eventGrid.push.0.caller: unknown caller "nobody"; known: acme');
    expect(text).toContain('eventGrid.push.1.id: duplicate id "orders"');
    expect(text).toMatch(/eventGrid\.push\.1\.routes\.0\.arguments: not a valid JSONata expression/);
  });

  it('refuses a key written in clear instead of its hash, and a push subscription without routes', () => {
    const text = problems({
      push: [{ id: 'orders', caller: 'acme', auth: { type: 'key', keyHash: 'my-secret-key' }, routes: [] }],
    });
    expect(text).toContain('eventGrid.push.0.auth.keyHash: sha256: followed by 64 lower-case hex digits');
    expect(text).toContain('eventGrid.push.0.routes');
    expect(text).not.toContain('my-secret-key"');
  });

  it('keeps pull settings inside the service ranges', () => {
    const text = problems({
      pull: [
        {
          id: 'requests',
          caller: 'acme',
          endpoint: 'https://ns.westeurope-1.eventgrid.azure.net',
          topic: 'requests',
          subscription: 'broker',
          credential: { type: 'access-key', key: { fromEnv: 'EG_KEY' } },
          routes: [route],
          maxWaitSeconds: 5,
          releaseDelaySeconds: 30,
        },
      ],
    });
    expect(text).toContain('eventGrid.pull.0.maxWaitSeconds');
    expect(text).toContain('eventGrid.pull.0.releaseDelaySeconds');
  });

  it('requires the namespace topic name for a namespace-topic target, https endpoints, and known callers', () => {
    const text = problems({
      topics: [
        {
          id: 'results',
          kind: 'namespace-topic',
          endpoint: 'http://ns.eventgrid.azure.net',
          credential: { type: 'managed-identity' },
          callers: ['acme', 'ghost'],
        },
      ],
    });
    expect(text).toContain('eventGrid.topics.0.namespaceTopic: required for kind namespace-topic');
    expect(text).toContain('eventGrid.topics.0.endpoint: Event Grid endpoints are https');
    expect(text).toContain('eventGrid.topics.0.callers.1: unknown caller "ghost"');
  });

  it('accepts a full section with defaults filled in, and its secrets are checked at start', () => {
    const config = parse({
      push: [{ id: 'orders', caller: 'acme', auth: { type: 'key', keyHash: HASH }, routes: [route] }],
      topics: [
        {
          id: 'results',
          kind: 'topic',
          endpoint: 'https://results.westeurope-1.eventgrid.azure.net/api/events',
          credential: { type: 'access-key', key: { fromEnv: 'EG_RESULTS_KEY' } },
          callers: ['acme'],
        },
      ],
    });
    expect(config.eventGrid.push[0]?.auth).toEqual({ type: 'key', keyHash: HASH, header: 'x-event-grid-key' });
    expect(config.eventGrid.topics[0]).toMatchObject({
      typePrefix: 'com.mcp-broker',
      source: '/mcp-broker',
      inlineResultMaxBytes: 32_768,
    });
    expect(() => assertSecretsPresent(config, {})).toThrow(/EG_RESULTS_KEY/);
    expect(() => assertSecretsPresent(config, { EG_RESULTS_KEY: 'k' })).not.toThrow();
  });
});
