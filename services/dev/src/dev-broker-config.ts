import { type BrokerConfig, brokerConfigSchema, hashPassword } from '@mcp-broker/broker-config';

/** The env variable the dev broker's upstream client secret is referenced by (never inline). */
export const DEV_UPSTREAM_SECRET_ENV = 'DEV_BROKER_UPSTREAM_SECRET';
/** The env variable the demo caller's callback signing secret is referenced by. */
export const DEV_CALLBACK_SECRET_ENV = 'DEV_BROKER_CALLBACK_SECRET';
/** The env variable the sandbox org's connected-app secret is referenced by. */
export const DEV_SALESFORCE_SECRET_ENV = 'DEV_SALESFORCE_CLIENT_SECRET';
/** The sandbox org's id in the dev configuration (write-back targets name it). */
export const DEV_SALESFORCE_ORG = 'demo-org';
/** The env variable the Service Bus namespace's connection string is referenced by. */
export const DEV_SERVICE_BUS_CONNECTION_ENV = 'DEV_SERVICE_BUS_CONNECTION_STRING';
/** The env variable the Event Grid topic's access key is referenced by. */
export const DEV_EVENT_GRID_KEY_ENV = 'DEV_EVENT_GRID_TOPIC_KEY';
/** The queue the demo caller's tool-call requests arrive on. */
export const DEV_SERVICE_BUS_QUEUE = 'tool-requests';
/** The Event Grid topic (its id in the configuration and its name on the sandbox) outcomes are published to. */
export const DEV_EVENT_GRID_TOPIC = 'tool-results';

/**
 * The broker configuration the dev launcher uses: one caller, `demo`, authenticating to the broker
 * with Basic and to the MCP server with client credentials from the dev OAuth server, as a real
 * Salesforce org would with Entra ID; and the Salesforce sandbox connected as that caller's org.
 */
export async function devBrokerConfig(options: {
  mcpUrl: string;
  tokenEndpoint: string;
  upstreamClientId: string;
  demoPassword: string;
  /** The Salesforce sandbox, connected as org `demo-org` of the demo caller. */
  salesforce?: { loginUrl: string; clientId: string; apiVersion: string };
  /** The MCP server's REDIS_KEY_PREFIX: the launcher runs everything against one Redis under one prefix. */
  keyPrefix?: string;
  /**
   * Azure: requests of the demo caller arrive on the `tool-requests` queue of a Service Bus namespace
   * (connection string from DEV_SERVICE_BUS_CONNECTION_STRING), outcomes may be published to the
   * Event Grid custom topic `tool-results` at this endpoint (key from DEV_EVENT_GRID_TOPIC_KEY).
   */
  azure?: { eventGridTopicEndpoint: string };
  /** Batch schedules of the demo caller (`devEnrichmentSchedule`); none by default. */
  schedules?: ReadonlyArray<Record<string, unknown>>;
}): Promise<BrokerConfig> {
  return brokerConfigSchema.parse({
    ...(options.keyPrefix ? { broker: { keyPrefix: options.keyPrefix } } : {}),
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
    salesforce: {
      orgs: options.salesforce
        ? [
            {
              id: DEV_SALESFORCE_ORG,
              caller: 'demo',
              loginUrl: options.salesforce.loginUrl,
              apiVersion: options.salesforce.apiVersion,
              auth: {
                type: 'client-credentials',
                clientId: options.salesforce.clientId,
                clientSecret: { fromEnv: DEV_SALESFORCE_SECRET_ENV },
              },
              channels: [{ channel: '/event/MCP_Tool_Request__e', initialReplay: 'all-retained' }],
            },
          ]
        : [],
    },
    ...(options.azure ? azureSections(options.azure.eventGridTopicEndpoint) : {}),
    ...(options.schedules ? { schedules: options.schedules } : {}),
  });
}

/** The demo's enrichment schedule's id (`POST /v1/schedules/enrich-accounts/runs`). */
export const DEV_ENRICHMENT_SCHEDULE = 'enrich-accounts';

/**
 * The demo's scheduled enrichment: every night at 02:00 Paris time, each Account of `demo-org`
 * with a sample-data customer id and no enrichment in the last seven days gets `next_best_action`
 * as the demo caller, and its top action, score and rationale written back in SObject Collections
 * chunks. Concurrency 3 stays below the caller's 4, so an interactive call always has a slot.
 */
export function devEnrichmentSchedule(): Record<string, unknown> {
  return {
    id: DEV_ENRICHMENT_SCHEDULE,
    cron: '0 2 * * *',
    timeZone: 'Europe/Paris',
    caller: 'demo',
    source: {
      type: 'salesforce-soql',
      org: DEV_SALESFORCE_ORG,
      query:
        'SELECT Id, Name, Customer_Id__c FROM Account WHERE Customer_Id__c != null ' +
        'AND (Last_Enriched__c = null OR Last_Enriched__c < LAST_N_DAYS:7) ORDER BY Name',
    },
    tool: 'next_best_action',
    arguments: '{ "customer_id": Customer_Id__c, "context": "nightly enrichment of " & Name }',
    writeBack: {
      type: 'salesforce-record',
      org: DEV_SALESFORCE_ORG,
      sobject: 'Account',
      fields: {
        Next_Best_Action__c: 'structuredContent.actions[0].action',
        Action_Score__c: 'structuredContent.actions[0].score',
        Description: 'structuredContent.actions[0].rationale',
        Last_Enriched__c: 'call.completedAt',
      },
    },
    concurrency: 3,
    callsPerMinute: 600,
    maxRecords: 1000,
  };
}

function azureSections(eventGridTopicEndpoint: string) {
  return {
    serviceBus: {
      namespaces: [
        {
          id: 'local',
          credential: { type: 'connection-string', connectionString: { fromEnv: DEV_SERVICE_BUS_CONNECTION_ENV } },
        },
      ],
      sources: [{ id: 'requests', caller: 'demo', namespace: 'local', queue: DEV_SERVICE_BUS_QUEUE }],
    },
    eventGrid: {
      topics: [
        {
          id: DEV_EVENT_GRID_TOPIC,
          kind: 'topic',
          endpoint: eventGridTopicEndpoint,
          credential: { type: 'access-key', key: { fromEnv: DEV_EVENT_GRID_KEY_ENV } },
          typePrefix: 'com.contoso.broker',
          callers: ['demo'],
        },
      ],
    },
  };
}
