import type { BrokerConfig } from './broker-config.ts';
import { type BrokerSettings, brokerSettingsSchema } from './broker-settings.ts';
import { BrokerConfigError } from './load-broker-config.ts';

/**
 * The environment variables that held the shared settings before they moved into the broker
 * configuration file (`broker:`). For one release a set variable still wins, with a warning, so
 * a deployment that sets them keeps its behaviour while it moves them into the file.
 */
export const deprecatedSettingsEnv = {
  REDIS_KEY_PREFIX: 'keyPrefix',
  TOOL_CALL_ATTEMPTS: 'toolCallAttempts',
  WRITE_BACK_ATTEMPTS: 'writeBackAttempts',
  TOOL_CALL_RETENTION_DAYS: 'retentionDays',
} as const satisfies Record<string, keyof BrokerSettings>;

export type DeprecatedSettingsEnv = Partial<Record<keyof typeof deprecatedSettingsEnv, string | number | undefined>>;

/**
 * The configuration with each set deprecated variable applied over `broker:`, validated by the
 * same schema as the file (an invalid value stops the start, naming the variable). `warn` is told
 * once per variable used.
 */
export function applyDeprecatedSettingsEnv(
  config: BrokerConfig,
  env: DeprecatedSettingsEnv,
  warn: (message: string) => void,
): BrokerConfig {
  const overrides: Record<string, unknown> = {};
  for (const [variable, field] of Object.entries(deprecatedSettingsEnv)) {
    const value = env[variable as keyof typeof deprecatedSettingsEnv];
    if (value === undefined || value === '') continue;
    const shape = brokerSettingsSchema.shape[field];
    const parsed = typeof config.broker[field] === 'number' ? shape.safeParse(Number(value)) : shape.safeParse(value);
    if (!parsed.success) {
      throw new BrokerConfigError(
        `${variable} is invalid (${parsed.error.issues.map((i) => i.message).join('; ')}); it is deprecated: set broker.${field} in the broker configuration file instead.`,
      );
    }
    overrides[field] = parsed.data;
    warn(
      `${variable} is deprecated and overrides broker.${field} of the broker configuration file; move it into the file (the variable will stop being read in the next release).`,
    );
  }
  return Object.keys(overrides).length ? { ...config, broker: { ...config.broker, ...overrides } } : config;
}
