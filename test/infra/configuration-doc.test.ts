import { readFileSync } from 'node:fs';
import { parseBrokerConfig, salesforceChannelSchema } from '@mcp-broker/broker-config';
import { devConfigSchema } from '@mcp-broker/dev/config';
import { ingressConfigSchema } from '@mcp-broker/ingress';
import { mcpServerConfigSchema } from '@mcp-broker/mcp-server';
import { workerConfigSchema } from '@mcp-broker/worker';
import { describe, expect, it } from 'vitest';

const doc = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');

const schemas = {
  'mcp-server': mcpServerConfigSchema,
  ingress: ingressConfigSchema,
  worker: workerConfigSchema,
  dev: devConfigSchema,
};

/** The ```yaml blocks of the page, in order. */
function yamlBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```yaml\n([\s\S]*?)^```$/gm)].map((m) => m[1] ?? '');
}

describe('docs/configuration.md', () => {
  it.each(Object.entries(schemas))('documents every environment variable of %s', (_service, schema) => {
    // Backticked, so `PORT` is not satisfied by `DEV_OAUTH_PORT`.
    const missing = Object.keys(schema.shape).filter((key) => !doc.includes(`\`${key}\``));
    expect(missing, `variables missing from docs/configuration.md`).toEqual([]);
  });

  it('documents every key of a Salesforce channel', () => {
    const missing = Object.keys(salesforceChannelSchema.shape).filter((key) => !doc.includes(`\`channels[].${key}\``));
    expect(missing, 'salesforce channel keys missing from docs/configuration.md').toEqual([]);
  });

  it('has example configurations that parse with parseBrokerConfig', () => {
    const blocks = yamlBlocks(doc);
    expect(blocks.length).toBeGreaterThan(0);
    blocks.forEach((yaml, i) => {
      expect(() => parseBrokerConfig(yaml, `docs/configuration.md yaml block ${i + 1}`)).not.toThrow();
    });
  });

  it('has the complete example it describes: Salesforce on Basic + client credentials, Databricks on JWT + workload identity', () => {
    const configs = yamlBlocks(doc).map((yaml) => parseBrokerConfig(yaml));
    const example = configs.find((c) => c.callers.length === 2);
    expect(example, 'a configuration with two callers').toBeDefined();
    const kinds = example?.callers.map((c) => [c.auth.type, c.upstream.credential.type]);
    expect(kinds).toEqual([
      ['basic', 'client-credentials'],
      ['jwt', 'workload-identity'],
    ]);
  });
});
