import { type BrokerConfig, brokerConfigSchema, hashPassword } from '@mcp-broker/broker-config';

/** The env variable the dev broker's upstream client secret is referenced by (never inline). */
export const DEV_UPSTREAM_SECRET_ENV = 'DEV_BROKER_UPSTREAM_SECRET';
/** The env variable the demo caller's callback signing secret is referenced by. */
export const DEV_CALLBACK_SECRET_ENV = 'DEV_BROKER_CALLBACK_SECRET';

/**
 * The broker configuration the dev launcher uses: one caller, `demo`, authenticating to the broker
 * with Basic and to the MCP server with client credentials from the dev OAuth server, as a real
 * Salesforce org would with Entra ID.
 */
export async function devBrokerConfig(options: {
  mcpUrl: string;
  tokenEndpoint: string;
  upstreamClientId: string;
  demoPassword: string;
}): Promise<BrokerConfig> {
  return brokerConfigSchema.parse({
    endpoints: { local: { url: `${options.mcpUrl}/mcp`, transport: 'streamable-http' } },
    callers: [
      {
        id: 'demo',
        auth: { type: 'basic', username: 'demo', passwordHash: await hashPassword(options.demoPassword) },
        upstream: {
          endpoint: 'local',
          credential: {
            type: 'client-credentials',
            tokenUrl: options.tokenEndpoint,
            clientId: options.upstreamClientId,
            clientSecret: { fromEnv: DEV_UPSTREAM_SECRET_ENV },
            scope: 'api://mcp-broker/.default',
          },
        },
        tools: ['*'],
        limits: { concurrency: 4, callsPerMinute: 600 },
        callbackHosts: ['127.0.0.1', 'localhost'],
        allowPrivateCallbacks: true,
        callbackSigningSecret: { fromEnv: DEV_CALLBACK_SECRET_ENV },
        admin: true,
      },
    ],
  });
}
