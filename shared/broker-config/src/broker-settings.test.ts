import { describe, expect, it } from 'vitest';
import { applyDeprecatedSettingsEnv } from './deprecated-settings-env.ts';
import { BrokerConfigError, parseBrokerConfig } from './load-broker-config.ts';

const minimal = (broker = '') => `${broker}
endpoints:
  local: { url: "http://127.0.0.1:3001/mcp" }
callers:
  - id: a
    auth: { type: jwt, issuer: "https://login.example.com/t/v2.0", audience: api, subjects: [s] }
    upstream:
      endpoint: local
      credential: { type: managed-identity, scope: "api://x/.default" }
    tools: ["*"]
`;

describe('broker: settings in the broker configuration file', () => {
  it('has the defaults the services had when the section is omitted', () => {
    expect(parseBrokerConfig(minimal()).broker).toEqual({
      keyPrefix: 'mcpb:',
      toolCallAttempts: 5,
      writeBackAttempts: 8,
      retentionDays: 30,
      runningWriteAfterMs: 250,
    });
  });

  it('takes the values the file gives', () => {
    const config = parseBrokerConfig(
      minimal(
        'broker: { keyPrefix: "prod:", toolCallAttempts: 3, writeBackAttempts: 12, retentionDays: 7, runningWriteAfterMs: 0 }',
      ),
    );
    expect(config.broker).toEqual({
      keyPrefix: 'prod:',
      toolCallAttempts: 3,
      writeBackAttempts: 12,
      retentionDays: 7,
      runningWriteAfterMs: 0,
    });
  });

  it.each([
    ['broker: { toolCallAttempts: 0 }', 'broker.toolCallAttempts'],
    ['broker: { toolCallAttempts: 2.5 }', 'broker.toolCallAttempts'],
    ['broker: { writeBackAttempts: 51 }', 'broker.writeBackAttempts'],
    ['broker: { retentionDays: 0 }', 'broker.retentionDays'],
    ['broker: { retentionDays: "30" }', 'broker.retentionDays'],
    ['broker: { keyPrefix: "" }', 'broker.keyPrefix'],
    ['broker: { runningWriteAfterMs: -1 }', 'broker.runningWriteAfterMs'],
    ['broker: { runningWriteAfterMs: 60001 }', 'broker.runningWriteAfterMs'],
    ['broker: { runningWriteAfterMs: 0.5 }', 'broker.runningWriteAfterMs'],
  ])('refuses %s, naming %s', (section, field) => {
    expect(() => parseBrokerConfig(minimal(section), 'broker.yaml')).toThrow(BrokerConfigError);
    expect(() => parseBrokerConfig(minimal(section), 'broker.yaml')).toThrow(new RegExp(`  - ${field}: `));
  });

  it('refuses an unknown setting (a typo would otherwise be a silent default)', () => {
    expect(() => parseBrokerConfig(minimal('broker: { toolCallAttempt: 3 }'))).toThrow(
      /broker: Unrecognized key.*toolCallAttempt/,
    );
  });
});

describe('applyDeprecatedSettingsEnv', () => {
  const file = parseBrokerConfig(minimal('broker: { keyPrefix: "file:", toolCallAttempts: 3 }'));

  it('leaves the file alone, without a warning, when no deprecated variable is set', () => {
    const warnings: string[] = [];
    expect(applyDeprecatedSettingsEnv(file, { REDIS_KEY_PREFIX: '' }, (m) => warnings.push(m))).toBe(file);
    expect(warnings).toEqual([]);
  });

  it('lets a set variable win over the file, warning once per variable and naming the field to move it to', () => {
    const warnings: string[] = [];
    const config = applyDeprecatedSettingsEnv(
      file,
      { REDIS_KEY_PREFIX: 'env:', TOOL_CALL_ATTEMPTS: 9, TOOL_CALL_RETENTION_DAYS: '2' },
      (m) => warnings.push(m),
    );
    expect(config.broker).toEqual({
      keyPrefix: 'env:',
      toolCallAttempts: 9,
      writeBackAttempts: 8,
      retentionDays: 2,
      runningWriteAfterMs: 250,
    });
    expect(warnings).toHaveLength(3);
    expect(warnings[0]).toMatch(/^REDIS_KEY_PREFIX is deprecated .*broker\.keyPrefix/);
    expect(warnings[1]).toMatch(/^TOOL_CALL_ATTEMPTS is deprecated .*broker\.toolCallAttempts/);
    expect(warnings[2]).toMatch(/^TOOL_CALL_RETENTION_DAYS is deprecated .*broker\.retentionDays/);
    expect(file.broker.keyPrefix).toBe('file:');
  });

  it('stops the start on an invalid variable, naming it and the field that replaces it', () => {
    expect(() => applyDeprecatedSettingsEnv(file, { WRITE_BACK_ATTEMPTS: '0' }, () => {})).toThrow(
      /^WRITE_BACK_ATTEMPTS is invalid .*broker\.writeBackAttempts/,
    );
    expect(() => applyDeprecatedSettingsEnv(file, { TOOL_CALL_ATTEMPTS: 'many' }, () => {})).toThrow(BrokerConfigError);
  });
});
