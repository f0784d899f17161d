import { randomUUID } from 'node:crypto';
import SwaggerParser from '@apidevtools/swagger-parser';
import { BrokerQueues, ToolCallIntake, ToolCallRepository, WriteBackPolicy } from '@mcp-broker/broker';
import { buildIngressApp, ToolCallService } from '@mcp-broker/ingress';
import { createLogger } from '@mcp-broker/runtime';
import { createStore, type Store } from '@mcp-broker/store';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// Not exported from the package index; the app needs the real class (it has private fields).
import { CallerAuthenticator } from '../../services/ingress/src/caller-authenticator.ts';

// What Salesforce External Services imports: OpenAPI 3.0.x, operationIds, no oneOf/anyOf in request
// bodies, no callbacks. A real parser validates the document against the OpenAPI 3.0 schema.

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const PUBLIC_URL = 'https://broker.example.com';

type Json = Record<string, unknown>;
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

let app: FastifyInstance;
let store: Store;
let redis: Redis;
let queues: BrokerQueues;
let doc: Json;

beforeAll(async () => {
  store = await createStore({ databaseId: `openapi-${randomUUID()}` });
  redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  const prefix = `openapi:${randomUUID()}:`;
  queues = new BrokerQueues({ connection: redis, prefix });
  const service = new ToolCallService({
    repository: new ToolCallRepository({ store }),
    queues,
    redis,
    prefix,
    intake: new ToolCallIntake({
      repository: new ToolCallRepository({ store }),
      queues,
      redis,
      prefix,
      // Generating the document never validates a call; the catalog-backed validator needs an MCP endpoint.
      validator: { validate: async () => ({ kind: 'ok' }) },
      writeBackPolicy: new WriteBackPolicy({ salesforceOrgs: [], env: {} }),
    }),
  });
  app = await buildIngressApp({
    logger: createLogger({ name: 'openapi-test', level: 'silent' }),
    service,
    authenticator: new CallerAuthenticator([]),
    publicUrl: PUBLIC_URL,
  });
  const res = await app.inject({ method: 'GET', url: '/openapi.json' });
  expect(res.statusCode).toBe(200);
  doc = res.json();
}, 30_000);

afterAll(async () => {
  await app?.close();
  await queues?.close();
  redis?.disconnect();
  await store?.close();
});

function operations(): Array<{ path: string; method: string; op: Json }> {
  const paths = (doc.paths ?? {}) as Record<string, Json>;
  return Object.entries(paths).flatMap(([path, item]) =>
    METHODS.filter((m) => item[m]).map((method) => ({ path, method, op: item[method] as Json })),
  );
}

/** Every schema object under `schema`, with a JSON-pointer-like path, following the schema keywords. */
function* schemaNodes(schema: unknown, path: string): Generator<{ node: Json; path: string }> {
  if (!schema || typeof schema !== 'object' || Array.isArray(schema)) return;
  const node = schema as Json;
  yield { node, path };
  for (const key of ['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas']) {
    const map = node[key];
    if (map && typeof map === 'object') {
      for (const [name, child] of Object.entries(map)) yield* schemaNodes(child, `${path}/${key}/${name}`);
    }
  }
  for (const key of [
    'items',
    'additionalProperties',
    'not',
    'if',
    'then',
    'else',
    'contains',
    'propertyNames',
    'unevaluatedProperties',
    'unevaluatedItems',
  ]) {
    const child = node[key];
    if (Array.isArray(child)) {
      for (const [i, c] of child.entries()) yield* schemaNodes(c, `${path}/${key}/${i}`);
    } else {
      yield* schemaNodes(child, `${path}/${key}`);
    }
  }
  for (const key of ['allOf', 'anyOf', 'oneOf', 'prefixItems']) {
    const list = node[key];
    if (Array.isArray(list)) for (const [i, c] of list.entries()) yield* schemaNodes(c, `${path}/${key}/${i}`);
  }
}

/** Every schema root in the document: components, parameters, request bodies, responses. */
function* allSchemas(): Generator<{ node: Json; path: string }> {
  const components = (doc.components ?? {}) as Json;
  for (const [name, s] of Object.entries((components.schemas ?? {}) as Json)) {
    yield* schemaNodes(s, `#/components/schemas/${name}`);
  }
  for (const { path, method, op } of operations()) {
    const at = `${method.toUpperCase()} ${path}`;
    for (const [i, p] of ((op.parameters ?? []) as Json[]).entries()) {
      yield* schemaNodes(p.schema, `${at} parameters/${i}(${String(p.name)})/schema`);
    }
    const body = op.requestBody as Json | undefined;
    for (const [type, media] of Object.entries((body?.content ?? {}) as Record<string, Json>)) {
      yield* schemaNodes(media.schema, `${at} requestBody/${type}/schema`);
    }
    for (const [status, response] of Object.entries((op.responses ?? {}) as Record<string, Json>)) {
      for (const [type, media] of Object.entries((response.content ?? {}) as Record<string, Json>)) {
        yield* schemaNodes(media.schema, `${at} responses/${status}/${type}/schema`);
      }
    }
  }
}

/** Schema keywords of JSON Schema 2020-12 / OpenAPI 3.1 (and later drafts) that OpenAPI 3.0 does not have. */
function notInOpenApi30(node: Json): string[] {
  const found: string[] = [];
  if (Array.isArray(node.type)) found.push(`type is an array ${JSON.stringify(node.type)}`);
  if (typeof node.exclusiveMinimum === 'number') found.push('exclusiveMinimum is a number');
  if (typeof node.exclusiveMaximum === 'number') found.push('exclusiveMaximum is a number');
  for (const key of [
    'const',
    '$defs',
    '$schema',
    '$id',
    '$anchor',
    '$dynamicRef',
    'prefixItems',
    'examples',
    'if',
    'then',
    'else',
    'dependentRequired',
    'dependentSchemas',
    'unevaluatedProperties',
    'unevaluatedItems',
    'contentMediaType',
    'contentEncoding',
    'propertyNames',
    'contains',
    'patternProperties',
  ]) {
    if (key in node) found.push(key);
  }
  return found;
}

describe('GET /openapi.json', () => {
  it('is a valid OpenAPI document according to @apidevtools/swagger-parser', async () => {
    // validate() dereferences in place; give it a copy.
    await expect(SwaggerParser.validate(structuredClone(doc) as never)).resolves.toBeDefined();
  });

  it('is OpenAPI 3.0.x with the public URL as its server', () => {
    expect(doc.openapi).toMatch(/^3\.0\.\d+$/);
    expect(doc.servers).toEqual([{ url: PUBLIC_URL }]);
  });

  it('uses no OpenAPI 3.1 / JSON Schema 2020-12 constructs in any schema', () => {
    const problems = [...allSchemas()].flatMap(({ node, path }) =>
      notInOpenApi30(node).map((what) => `${path}: ${what}`),
    );
    expect(problems).toEqual([]);
  });

  it('gives every operation a unique operationId', () => {
    const ops = operations();
    expect(ops.length).toBeGreaterThan(0);
    const missing = ops.filter(({ op }) => typeof op.operationId !== 'string' || op.operationId === '');
    expect(missing.map(({ method, path }) => `${method.toUpperCase()} ${path}`)).toEqual([]);
    const ids = ops.map(({ op }) => op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('has no oneOf or anyOf in request bodies (External Services rejects them)', () => {
    const found = [...allSchemas()]
      .filter(({ path }) => path.includes(' requestBody/'))
      .flatMap(({ node, path }) => ['oneOf', 'anyOf'].filter((k) => k in node).map((k) => `${path}: ${k}`));
    expect(found).toEqual([]);
  });

  it('declares no callbacks', () => {
    const withCallbacks = operations().filter(({ op }) => 'callbacks' in op);
    expect(withCallbacks.map(({ method, path }) => `${method.toUpperCase()} ${path}`)).toEqual([]);
    expect(((doc.components ?? {}) as Json).callbacks).toBeUndefined();
  });

  it('has the tool-call and dead-letter operations', () => {
    const byId = Object.fromEntries(
      operations().map(({ path, method, op }) => [op.operationId, `${method.toUpperCase()} ${path}`]),
    );
    expect(byId).toMatchObject({
      submitToolCall: 'POST /v1/tool-calls',
      getToolCall: 'GET /v1/tool-calls/{id}',
      cancelToolCall: 'POST /v1/tool-calls/{id}/cancel',
      listToolCalls: 'GET /v1/tool-calls',
      listDeadLetters: 'GET /v1/dead-letters',
      replayDeadLetter: 'POST /v1/dead-letters/{id}/replay',
    });
  });

  it('describes the submission: JSON body with idempotencyKey, 202 and the idempotency answers', () => {
    const submit = operations().find(({ op }) => op.operationId === 'submitToolCall')?.op as Json;
    const body = submit.requestBody as { required?: boolean; content: Record<string, { schema: Json }> };
    expect(body.required).toBe(true);
    expect(body.content['application/json']?.schema).toMatchObject({
      type: 'object',
      required: ['tool'],
      properties: {
        tool: { type: 'string' },
        argumentsJson: { type: 'string' },
        idempotencyKey: { type: 'string' },
        writeBack: { type: 'array' },
      },
    });
    // The key travels as body.idempotencyKey in the document (External Services renames hyphenated
    // header names); the Idempotency-Key header is still accepted and the description says so.
    expect(String(submit.description)).toMatch(/Idempotency-Key header or body\.idempotencyKey/);
    expect(Object.keys(submit.responses as Json)).toEqual(
      expect.arrayContaining([
        '200',
        '202',
        '400',
        '401',
        '403',
        '404',
        '409',
        '413',
        '415',
        '422',
        '500',
        '502',
        '503',
      ]),
    );
    // Every operation documents the server-side failures a client must handle.
    for (const { op } of operations())
      expect(Object.keys(op.responses as Json)).toEqual(expect.arrayContaining(['500', '503']));
    const wait = (
      operations().find(({ op }) => op.operationId === 'getToolCall')?.op.parameters as Json[] | undefined
    )?.find((p) => p.name === 'wait');
    expect(wait).toMatchObject({ in: 'query', schema: { type: 'integer', minimum: 0, maximum: 100 } });
  });

  it('has the Bearer (JWT) and Basic security schemes, required globally', () => {
    const schemes = ((doc.components ?? {}) as Json).securitySchemes as Json;
    expect(schemes).toMatchObject({
      bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
      basicAuth: { type: 'http', scheme: 'basic' },
    });
    expect(doc.security).toEqual([{ bearerAuth: [] }, { basicAuth: [] }]);
  });
});
