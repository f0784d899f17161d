import { randomUUID } from 'node:crypto';
import { BatchQueue, BatchRunRepository, BatchRunService } from '@mcp-broker/batch';
import { BrokerQueues, ToolCallIntake, ToolCallRepository, WriteBackPolicy } from '@mcp-broker/broker';
import { buildIngressApp, ToolCallService } from '@mcp-broker/ingress';
import { createLogger } from '@mcp-broker/runtime';
import { createStore, type Store } from '@mcp-broker/store';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallerAuthenticator } from '../../services/ingress/src/caller-authenticator.ts';

// How Salesforce External Services turns the OpenAPI document into Apex classes and Flow actions,
// from its documented rules (Help: "Schema Definitions", "OpenAPI 2.0 and 3.0 Support", "Naming and
// Description Conventions"; Apex Developer Guide: "Reserved Keywords"; Flow: "Considerations for the
// Apex-Defined Data Type"). No org runs here, so the document is walked against those rules:
// - names become Apex identifiers: letters, digits and single inner underscores, starting with a
//   letter; anything else is rewritten, and reserved words get a prefix (`type` becomes `z0type`);
// - untyped schemas become Apex `Object` and additionalProperties become `Map`, which a Flow cannot
//   build or read; nested anonymous arrays become List<List<T>>, which a Flow variable cannot hold;
// - a string is a Datetime only with `format: date-time`;
// - response headers are not supported (ignored), so what a client needs is in the body;
// - `not` is unsupported; composition (allOf/oneOf/anyOf) only partly, so none is used.

const APEX_RESERVED = new Set(
  `abstract activate and any array as asc autonomous begin bigdecimal blob boolean break bulk by byte case cast
  catch char class collect commit const continue currency date datetime decimal default delete desc do double else
  end enum exception exit export extends false final finally float for from global goto group having hint if
  implements import in inner insert instanceof int integer interface into join like limit list long loop map merge
  new not null nulls number object of on or outer override package parallel pragma private protected public
  retrieve return rollback select set short sobject sort static string super switch synchronized system testmethod
  then this throw time transaction trigger true try type undelete update upsert using virtual void webservice when
  where while`
    .split(/\s+/)
    .filter(Boolean),
);

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
type Json = Record<string, unknown>;
const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

let app: FastifyInstance;
let store: Store;
let redis: Redis;
let queues: BrokerQueues;
let doc: Json;

beforeAll(async () => {
  store = await createStore({ databaseId: `es-${randomUUID()}` });
  redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  const prefix = `es:${randomUUID()}:`;
  queues = new BrokerQueues({ connection: redis, prefix });
  const repository = new ToolCallRepository({ store });
  app = await buildIngressApp({
    logger: createLogger({ name: 'es-test', level: 'silent' }),
    service: new ToolCallService({
      repository,
      queues,
      redis,
      prefix,
      intake: new ToolCallIntake({
        repository,
        queues,
        redis,
        prefix,
        validator: { validate: async () => ({ kind: 'ok' }) },
        writeBackPolicy: new WriteBackPolicy({ salesforceOrgs: [], env: {} }),
      }),
    }),
    // The batch API lands in the same document, so its schemas are held to the same rules.
    batch: new BatchRunService({
      schedules: [],
      runs: new BatchRunRepository({ store }),
      queue: new BatchQueue({ connection: redis, prefix }),
    }),
    authenticator: new CallerAuthenticator([]),
    publicUrl: 'https://broker.example.com',
  });
  doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
}, 30_000);

afterAll(async () => {
  await app?.close();
  await queues?.close();
  redis?.disconnect();
  await store?.close();
});

function operations(): Array<{ at: string; op: Json }> {
  return Object.entries((doc.paths ?? {}) as Record<string, Json>).flatMap(([path, item]) =>
    METHODS.filter((m) => item[m]).map((m) => ({ at: `${m.toUpperCase()} ${path}`, op: item[m] as Json })),
  );
}

/** Every schema node reachable from the operations and components, with where it is. */
function* schemas(): Generator<{ node: Json; at: string; name?: string; parentIsArray?: boolean }> {
  function* walk(
    node: unknown,
    at: string,
    name?: string,
    parentIsArray = false,
  ): Generator<{
    node: Json;
    at: string;
    name?: string;
    parentIsArray?: boolean;
  }> {
    if (!node || typeof node !== 'object') return;
    const n = node as Json;
    yield { node: n, at, ...(name !== undefined ? { name } : {}), parentIsArray };
    for (const [key, child] of Object.entries((n.properties ?? {}) as Json)) yield* walk(child, `${at}.${key}`, key);
    if (n.items) yield* walk(n.items, `${at}[]`, undefined, n.type === 'array');
    if (n.additionalProperties && typeof n.additionalProperties === 'object')
      yield* walk(n.additionalProperties, `${at}{}`);
    for (const k of ['allOf', 'oneOf', 'anyOf'])
      for (const c of (n[k] as unknown[]) ?? []) yield* walk(c, `${at}/${k}`);
  }
  for (const [name, s] of Object.entries(((doc.components as Json)?.schemas ?? {}) as Json))
    yield* walk(s, `#/components/schemas/${name}`);
  for (const { at, op } of operations()) {
    for (const p of (op.parameters ?? []) as Json[]) yield* walk(p.schema, `${at} param ${String(p.name)}`);
    const body = (op.requestBody as Json | undefined)?.content as Record<string, Json> | undefined;
    for (const media of Object.values(body ?? {})) yield* walk(media.schema, `${at} body`);
    for (const [status, r] of Object.entries((op.responses ?? {}) as Record<string, Json>)) {
      for (const media of Object.values((r.content ?? {}) as Record<string, Json>))
        yield* walk(media.schema, `${at} ${status}`);
    }
  }
}

/** Why External Services would rewrite a name, or undefined when it keeps it. */
function renamed(name: string): string | undefined {
  if (!/^[A-Za-z][A-Za-z0-9]*(_[A-Za-z0-9]+)*$/.test(name)) return 'not an Apex identifier';
  if (APEX_RESERVED.has(name.toLowerCase())) return 'an Apex reserved word';
  return undefined;
}

describe('the OpenAPI document as Salesforce External Services imports it', () => {
  it('names every property so that it stays as it is in Apex and Flow', () => {
    const found = [...schemas()]
      .filter((s) => s.name !== undefined && renamed(s.name))
      .map((s) => `${s.at}: "${s.name}" is ${renamed(s.name as string)}`);
    expect(found).toEqual([]);
  });

  it('names every parameter and operation so that it stays as it is', () => {
    const found = operations().flatMap(({ at, op }) => [
      ...((op.parameters ?? []) as Json[])
        .filter((p) => renamed(String(p.name)))
        .map((p) => `${at}: ${String(p.in)} parameter "${String(p.name)}" is ${renamed(String(p.name))}`),
      ...(renamed(String(op.operationId)) ? [`${at}: operationId "${String(op.operationId)}"`] : []),
    ]);
    expect(found).toEqual([]);
  });

  it('types every schema: no Apex Object, no Map, no list of lists', () => {
    const found = [...schemas()].flatMap(({ node, at, parentIsArray }) => {
      const problems: string[] = [];
      if (!node.type && !node.$ref && !node.enum) problems.push(`${at}: untyped (Apex Object)`);
      if (node.additionalProperties !== undefined && node.additionalProperties !== false)
        problems.push(`${at}: additionalProperties (Apex Map)`);
      if (node.type === 'object' && !node.properties && node.additionalProperties === undefined)
        problems.push(`${at}: object without properties (Apex Object)`);
      if (parentIsArray && node.type === 'array') problems.push(`${at}: list of lists`);
      for (const k of ['not', 'oneOf', 'anyOf', 'allOf']) if (k in node) problems.push(`${at}: ${k}`);
      return problems;
    });
    expect(found).toEqual([]);
  });

  it('marks every timestamp as date-time, so Flow gets a Datetime', () => {
    const found = [...schemas()]
      .filter((s) => s.name && /(At|before)$/.test(s.name) && s.node.type === 'string' && s.node.format !== 'date-time')
      .map((s) => s.at);
    expect(found).toEqual([]);
  });

  it('carries in the body what it also says in a header, and says so', () => {
    const submit = operations().find(({ op }) => op.operationId === 'submitToolCall')?.op as Json;
    const accepted = (submit.responses as Json)['202'] as Json;
    expect((accepted.headers as Json | undefined)?.Location).toBeDefined();
    expect(String(accepted.description)).toMatch(/statusUrl/);
    const schema = ((accepted.content as Json)['application/json'] as Json).schema as Json;
    expect(Object.keys(schema.properties as Json)).toContain('statusUrl');
    // The idempotency key can travel in the body, since a hyphenated header name is rewritten.
    const body = ((submit.requestBody as Json).content as Json)['application/json'] as Json;
    expect(Object.keys((body.schema as Json).properties as Json)).toContain('idempotencyKey');
  });
});
