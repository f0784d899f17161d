import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { type BrokerConfig, brokerConfigSchema } from './broker-config.ts';

export class BrokerConfigError extends Error {
  override readonly name = 'BrokerConfigError';
}

/** Parses configuration text (YAML, of which JSON is a subset) and validates it. */
export function parseBrokerConfig(text: string, origin = 'broker configuration'): BrokerConfig {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new BrokerConfigError(`${origin}: not valid YAML/JSON (${(err as Error).message})`);
  }
  const result = brokerConfigSchema.safeParse(raw);
  if (result.success) return result.data;
  const lines = result.error.issues.map((i) => `  - ${i.path.map(String).join('.') || '(root)'}: ${i.message}`);
  throw new BrokerConfigError(`${origin} is invalid:\n${lines.join('\n')}`);
}

/** Reads and validates the configuration file once, at start. */
export async function loadBrokerConfigFile(path: string): Promise<BrokerConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new BrokerConfigError(
      `Cannot read broker configuration ${path}: ${(err as NodeJS.ErrnoException).code ?? err}`,
    );
  }
  return parseBrokerConfig(text, path);
}
