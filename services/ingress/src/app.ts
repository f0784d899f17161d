import fastifySwagger from '@fastify/swagger';
import type { BatchRunService } from '@mcp-broker/batch';
import type { DatabricksWebhookSource } from '@mcp-broker/databricks';
import type { EventGridWebhookSource } from '@mcp-broker/event-grid';
import { buildHttpServer, type Logger, type ReadinessCheck } from '@mcp-broker/runtime';
import type { FastifyInstance } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { CallerAuthenticator } from './caller-authenticator.ts';
import { registerCallerAuth } from './plugins/caller-auth.ts';
import { registerBatchRunRoutes } from './routes/batch-runs.ts';
import { registerDatabricksWebhooks } from './routes/databricks-webhooks.ts';
import { registerEventGridWebhooks } from './routes/event-grid-webhooks.ts';
import { registerMethodNotAllowed } from './routes/method-not-allowed.ts';
import { type QueueDashboardOptions, registerQueueDashboard } from './routes/queue-dashboard.ts';
import { registerToolCallRoutes } from './routes/tool-calls.ts';
import type { ToolCallService } from './tool-call-service.ts';

export interface IngressAppOptions {
  logger: Logger;
  service: ToolCallService;
  authenticator: CallerAuthenticator;
  /**
   * Externally visible base URL (for Location headers and the OpenAPI servers list). A function is
   * read per request, so a server listening on port 0 can name the port it was given.
   */
  publicUrl: string | (() => string);
  bodyLimit?: number;
  /** Deepest JSON nesting a body may have (refused on the text, before anything parses it); default 64. */
  maxJsonDepth?: number;
  readiness?: Record<string, ReadinessCheck>;
  /** Databricks job-notification webhooks (`POST /webhooks/databricks/{source}`, docs/databricks.md); none when omitted. */
  databricksWebhooks?: DatabricksWebhookSource;
  /** Event Grid push subscriptions (`POST /webhooks/eventgrid/{subscription}`, docs/event-grid.md); none when omitted. */
  eventGridWebhooks?: EventGridWebhookSource;
  /** The batch enrichment API (`/v1/schedules`, `/v1/batch-runs`); not served when absent. */
  batch?: BatchRunService;
  /** Bull Board at /admin/queues for admin callers (docs/operations.md); not served when absent. */
  queueDashboard?: QueueDashboardOptions;
}

/** The ingress HTTP app: OpenAPI document, authenticated /v1 API, health. */
export async function buildIngressApp(options: IngressAppOptions): Promise<FastifyInstance> {
  const configured = options.publicUrl;
  const publicUrl = (): string => (typeof configured === 'string' ? configured : configured()).replace(/\/+$/, '');
  const app = buildHttpServer({
    logger: options.logger,
    ...(options.bodyLimit ? { bodyLimit: options.bodyLimit } : {}),
    ...(options.maxJsonDepth ? { maxJsonDepth: options.maxJsonDepth } : {}),
    ...(options.readiness ? { readiness: options.readiness } : {}),
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'mcp-broker asynchronous tool-call API',
        version: '1.0.0',
        description:
          'Submit governed MCP tool calls that run asynchronously on the caller’s behalf; poll, wait or receive a signed callback.',
      },
      servers: [{ url: publicUrl() }],
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
          basicAuth: { type: 'http', scheme: 'basic' },
        },
      },
      security: [{ bearerAuth: [] }, { basicAuth: [] }],
    },
    transform: jsonSchemaTransform,
    // The document is built on its first request, after listen: name the address then.
    transformObject: (document) =>
      'openapiObject' in document
        ? forExternalServices({ ...document.openapiObject, servers: [{ url: publicUrl() }] })
        : document.swaggerObject,
  });
  await app.register(async (scope) => {
    registerCallerAuth(scope, options.authenticator);
    registerToolCallRoutes(scope, options.service, publicUrl);
    if (options.batch) registerBatchRunRoutes(scope, options.batch, publicUrl);
    registerMethodNotAllowed(scope);
  });
  if (options.eventGridWebhooks) await registerEventGridWebhooks(app, options.eventGridWebhooks, options.maxJsonDepth);
  if (options.databricksWebhooks) await registerDatabricksWebhooks(app, options.databricksWebhooks);
  if (options.queueDashboard) await registerQueueDashboard(app, options.authenticator, options.queueDashboard);
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  return app;
}

type Json = Record<string, unknown>;

/**
 * The document Salesforce External Services imports (test/infra/external-services-import.test.ts):
 * fields marked wireOnly (old names kept for existing clients) are left out, and the 202's Location
 * header is declared, saying that statusUrl carries it, since External Services ignores headers.
 */
function forExternalServices<T>(doc: T): T {
  const paths = ((doc as Json).paths ?? {}) as Record<string, Record<string, Json>>;
  for (const item of Object.values(paths)) {
    for (const op of Object.values(item)) {
      if (Array.isArray(op.parameters)) op.parameters = op.parameters.filter((p: Json) => !isWireOnly(p.schema));
      const body = (op.requestBody as Json | undefined)?.content as Record<string, Json> | undefined;
      for (const media of Object.values(body ?? {})) dropWireOnly(media.schema);
      for (const response of Object.values((op.responses ?? {}) as Record<string, Json>)) {
        for (const media of Object.values((response.content ?? {}) as Record<string, Json>)) dropWireOnly(media.schema);
      }
    }
  }
  const accepted = paths['/v1/tool-calls']?.post?.responses as Record<string, Json> | undefined;
  if (accepted?.['202']) {
    accepted['202'].description =
      'Accepted: the call is queued. Poll statusUrl (the same URL as the Location header, for clients that ignore response headers).';
    accepted['202'].headers = {
      Location: { description: 'The URL of the call; the body carries it as statusUrl.', schema: { type: 'string' } },
    };
  }
  return doc;
}

function isWireOnly(schema: unknown): boolean {
  return !!schema && typeof schema === 'object' && (schema as Json)['x-wire-only'] === true;
}

function dropWireOnly(schema: unknown): void {
  if (!schema || typeof schema !== 'object') return;
  const node = schema as Json;
  const properties = node.properties as Record<string, unknown> | undefined;
  if (properties) {
    for (const [name, child] of Object.entries(properties)) {
      if (isWireOnly(child)) {
        delete properties[name];
        if (Array.isArray(node.required)) node.required = node.required.filter((r) => r !== name);
      } else dropWireOnly(child);
    }
    if (Array.isArray(node.required) && node.required.length === 0) delete node.required;
  }
  dropWireOnly(node.items);
}
