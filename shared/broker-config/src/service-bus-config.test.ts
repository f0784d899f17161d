import { describe, expect, it } from 'vitest';
import { assertSecretsPresent } from './check-secrets.ts';
import { BrokerConfigError, parseBrokerConfig } from './load-broker-config.ts';

const caller = {
  id: 'acme',
  auth: { type: 'basic', username: 'acme', passwordHash: 'scrypt$2$8$1$c2FsdA==$aGFzaA==' },
  upstream: { endpoint: 'local', credential: { type: 'managed-identity', scope: 'api://mcp/.default' } },
  tools: ['*'],
};

const namespace = {
  id: 'contoso',
  credential: { type: 'connection-string', connectionString: { fromEnv: 'SB_CONTOSO' } },
};

function parse(serviceBus: unknown) {
  return parseBrokerConfig(
    JSON.stringify({ endpoints: { local: { url: 'http://127.0.0.1:1/mcp' } }, callers: [caller], serviceBus }),
  );
}

function problems(serviceBus: unknown): string {
  try {
    parse(serviceBus);
  } catch (error) {
    expect(error).toBeInstanceOf(BrokerConfigError);
    return (error as Error).message;
  }
  throw new Error('the configuration was accepted');
}

describe('serviceBus configuration', () => {
  it('defaults to no namespaces, sources or targets', () => {
    expect(parse(undefined).serviceBus).toEqual({ namespaces: [], sources: [], targets: [] });
  });

  it('names an unknown caller, an unknown namespace and a duplicate id by their paths', () => {
    const text = problems({
      namespaces: [namespace],
      sources: [
        { id: 'in', caller: 'nobody', namespace: 'contoso', queue: 'requests' },
        { id: 'in', caller: 'acme', namespace: 'elsewhere', queue: 'requests' },
      ],
      targets: [{ id: 'out', namespace: 'contoso', queue: 'results', callers: ['acme', 'ghost'] }],
    });
    expect(text).toContain('serviceBus.sources.0.caller: unknown caller "nobody"; known: acme');
    expect(text).toContain('serviceBus.sources.1.id: duplicate id "in"');
    expect(text).toContain('serviceBus.sources.1.namespace: unknown namespace "elsewhere"; known: contoso');
    expect(text).toContain('serviceBus.targets.0.callers.1: unknown caller "ghost"');
  });

  it('needs exactly one of queue or topic, and a subscription with a topic for a source', () => {
    const text = problems({
      namespaces: [namespace],
      sources: [
        { id: 'both', caller: 'acme', namespace: 'contoso', queue: 'q', topic: 't', subscription: 's' },
        { id: 'neither', caller: 'acme', namespace: 'contoso' },
        { id: 'nosub', caller: 'acme', namespace: 'contoso', topic: 't' },
        { id: 'dlq', caller: 'acme', namespace: 'contoso', queue: 'q/$DeadLetterQueue' },
      ],
    });
    expect(text).toContain('serviceBus.sources.0.queue: name exactly one of queue or topic');
    expect(text).toContain('serviceBus.sources.1.queue: name exactly one of queue or topic');
    expect(text).toContain('serviceBus.sources.2.subscription: required with topic');
    expect(text).toContain('serviceBus.sources.3.queue');
  });

  it('an Entra credential needs the fully qualified namespace; an inline connection string is refused', () => {
    const text = problems({
      namespaces: [
        { id: 'entra', credential: { type: 'managed-identity' } },
        {
          id: 'inline',
          credential: { type: 'connection-string', connectionString: 'Endpoint=sb://x/;SharedAccessKey=k' },
        },
      ],
    });
    expect(text).toContain(
      'serviceBus.namespaces.0.fullyQualifiedNamespace: required with credential type managed-identity',
    );
    expect(text).toContain('serviceBus.namespaces.1.credential.connectionString');
    expect(text).not.toContain('SharedAccessKey=k');
  });

  it('limits maxConcurrentCalls and fills the defaults', () => {
    expect(
      problems({
        namespaces: [namespace],
        sources: [{ id: 'in', caller: 'acme', namespace: 'contoso', queue: 'q', maxConcurrentCalls: 0 }],
      }),
    ).toContain('serviceBus.sources.0.maxConcurrentCalls');
    const config = parse({
      namespaces: [
        { id: 'wi', fullyQualifiedNamespace: 'contoso.servicebus.windows.net', credential: { type: 'default' } },
      ],
      sources: [{ id: 'in', caller: 'acme', namespace: 'wi', topic: 'requests', subscription: 'broker' }],
      targets: [{ id: 'out', namespace: 'wi', topic: 'results', callers: ['acme'] }],
    });
    expect(config.serviceBus.sources[0]).toMatchObject({
      maxConcurrentCalls: 4,
      sessions: false,
      maxConcurrentSessions: 4,
      sessionIdleMs: 10_000,
      maxLockRenewalMs: 300_000,
    });
    expect(config.serviceBus.targets[0]).toMatchObject({ subjectPrefix: 'toolcall', inlineResultMaxBytes: 65_536 });
  });

  it('a connection string variable that is not set stops the start naming it', () => {
    const config = parse({ namespaces: [namespace] });
    expect(() => assertSecretsPresent(config, {})).toThrow(/SB_CONTOSO/);
    expect(() => assertSecretsPresent(config, { SB_CONTOSO: 'Endpoint=sb://x/' })).not.toThrow();
  });
});
