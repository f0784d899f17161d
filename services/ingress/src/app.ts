import fastifySwagger from '@fastify/swagger';
import { buildHttpServer, type Logger, type ReadinessCheck } from '@mcp-broker/runtime';
import type { FastifyInstance } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { CallerAuthenticator } from './caller-authenticator.ts';
import { registerCallerAuth } from './plugins/caller-auth.ts';
import { registerToolCallRoutes } from './routes/tool-calls.ts';
import type { ToolCallService } from './tool-call-service.ts';

export interface IngressAppOptions {
  logger: Logger;
  service: ToolCallService;
  authenticator: CallerAuthenticator;
  /** Externally visible base URL (for Location headers and the OpenAPI servers list). */
  publicUrl: string;
  bodyLimit?: number;
  /** Deepest JSON nesting a body may have (refused on the text, before anything parses it); default 64. */
  maxJsonDepth?: number;
  readiness?: Record<string, ReadinessCheck>;
}

/** The ingress HTTP app: OpenAPI document, authenticated /v1 API, health. */
export async function buildIngressApp(options: IngressAppOptions): Promise<FastifyInstance> {
  const publicUrl = options.publicUrl.replace(/\/+$/, '');
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
      servers: [{ url: publicUrl }],
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
          basicAuth: { type: 'http', scheme: 'basic' },
        },
      },
      security: [{ bearerAuth: [] }, { basicAuth: [] }],
    },
    transform: jsonSchemaTransform,
    // The header is declared optional so that its absence gets BROKER_IDEMPOTENCY_KEY_MISSING, with
    // a hint, rather than a generic validation error; the document still says it is required.
    transformObject: (document) =>
      'openapiObject' in document ? requireIdempotencyKey(document.openapiObject) : document.swaggerObject,
  });
  await app.register(async (scope) => {
    registerCallerAuth(scope, options.authenticator);
    registerToolCallRoutes(scope, options.service, publicUrl);
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  return app;
}

type OpenApiDocument = { paths?: Record<string, Record<string, { parameters?: Array<Record<string, unknown>> }>> };

function requireIdempotencyKey<T>(doc: T): T {
  for (const parameter of (doc as OpenApiDocument).paths?.['/v1/tool-calls']?.post?.parameters ?? []) {
    if (parameter.in === 'header' && String(parameter.name).toLowerCase() === 'idempotency-key')
      parameter.required = true;
  }
  return doc;
}
