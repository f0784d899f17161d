import { createHash } from 'node:crypto';
import { buildHttpServer } from '@mcp-broker/runtime';
import { generateSampleData, loadSampleData } from '@mcp-broker/sample-data';
import { createStore, type Store } from '@mcp-broker/store';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testToolContext } from '../../test-support/tool-context.ts';
import { CosmosDocumentStorage } from '../documents/cosmos-document-storage.ts';
import { DocumentLinkSigner } from '../documents/signed-link.ts';
import { CONTRACT_CONTENT_SECURITY_POLICY } from '../tools/contract-renderer.ts';
import { buildGenerateContractTool } from '../tools/generate-contract.ts';
import { DOCUMENT_LINK_INVALID, registerDocumentRoutes } from './documents.ts';

const data = generateSampleData({ seed: 29, customers: 20 });
const T0 = Date.UTC(2026, 5, 30, 9, 0, 0);
let now = T0;
const signer = new DocumentLinkSigner({
  secret: 'documents-route-test-secret-0123456789',
  baseUrl: 'http://127.0.0.1:3001',
  now: () => now,
});
let store: Store;
let app: FastifyInstance;
let contract: { document_id: string; url: string; markdown_url: string; sha256: string; bytes: number };

beforeAll(async () => {
  store = await createStore({ databaseId: `documents-route-${process.pid}-${Date.now()}` });
  await loadSampleData(store, data);
  const storage = new CosmosDocumentStorage(store);
  const tool = buildGenerateContractTool({ storage, signer, linkTtlSeconds: 600 });
  const opportunity = data.opportunities.find((o) => o.stage === 'closed_won')!;
  contract = await tool.handler(
    { opportunity_id: opportunity.id, template: 'standard' },
    testToolContext(store, { permissions: ['Contracts.Write'] }).context,
  );
  app = buildHttpServer({ logger: pino({ level: 'silent' }) });
  registerDocumentRoutes(app, { storage, signer });
  await app.ready();
}, 60_000);

afterAll(async () => {
  await app?.close();
  await store?.close();
});

/** The path and query of a link, as the server sees them. */
const pathOf = (url: string) => {
  const u = new URL(url);
  return `${u.pathname}${u.search}`;
};
const withParam = (url: string, name: string, value: string | null) => {
  const u = new URL(url);
  if (value === null) u.searchParams.delete(name);
  else u.searchParams.set(name, value);
  return pathOf(u.toString());
};

describe('GET /documents/:id', () => {
  it('serves the exact HTML bytes whose sha256 the tool returned, with safe headers', async () => {
    now = T0 + 100_000;
    const response = await app.inject({ method: 'GET', url: pathOf(contract.url) });
    expect(response.statusCode).toBe(200);
    expect(createHash('sha256').update(response.rawPayload).digest('hex')).toBe(contract.sha256);
    expect(response.rawPayload.length).toBe(contract.bytes);
    expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(response.headers['content-disposition']).toMatch(
      /^inline; filename="contract-opp-\d{6}-\d{2}-standard\.html"$/,
    );
    // Issued at T0 for 600 s; 100 s have passed.
    expect(response.headers['cache-control']).toBe('private, max-age=500');
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['content-security-policy']).toBe(CONTRACT_CONTENT_SECURITY_POLICY);
    expect(response.headers['referrer-policy']).toBe('no-referrer');
    expect(response.headers.etag).toBe(`"${contract.sha256}"`);
  });

  it('serves the Markdown as an attachment', async () => {
    now = T0;
    const response = await app.inject({ method: 'GET', url: pathOf(contract.markdown_url) });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/markdown; charset=utf-8');
    expect(response.headers['content-disposition']).toMatch(/^attachment; filename="contract-.*\.md"$/);
    expect(response.headers['content-security-policy']).toBe("default-src 'none'; sandbox");
    expect(response.body).toMatch(/^# Subscription Agreement/);
  });

  it('refuses a tampered signature, format or id with 403 naming the reason', async () => {
    now = T0;
    const sig = new URL(contract.url).searchParams.get('sig')!;
    const flipped = `${sig.slice(0, 5)}${sig[5] === 'x' ? 'y' : 'x'}${sig.slice(6)}`;
    const otherId = `ctr-${'0'.repeat(64)}`;
    for (const url of [
      withParam(contract.url, 'sig', flipped),
      withParam(contract.url, 'format', 'markdown'),
      pathOf(contract.url).replace(contract.document_id, otherId),
    ]) {
      const response = await app.inject({ method: 'GET', url });
      expect(response.statusCode, url).toBe(403);
      expect(response.json()).toMatchObject({
        error: {
          code: DOCUMENT_LINK_INVALID,
          details: { reason: 'bad_signature' },
          message: expect.stringMatching(/signature/),
        },
      });
      expect(response.headers['cache-control']).toBe('no-store');
      // The rejection carries the same request id in its header and its body.
      expect(response.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
      expect(response.json().error.requestId).toBe(response.headers['x-request-id']);
    }
  });

  it('refuses an expired link with 403', async () => {
    now = T0 + 600_000;
    const response = await app.inject({ method: 'GET', url: pathOf(contract.url) });
    expect(response.statusCode).toBe(403);
    expect(response.json()).toMatchObject({ error: { code: DOCUMENT_LINK_INVALID, details: { reason: 'expired' } } });
    now = T0 + 599_000;
    expect((await app.inject({ method: 'GET', url: pathOf(contract.url) })).statusCode).toBe(200);
  });

  it('refuses missing or malformed parameters with 403', async () => {
    now = T0;
    const cases: [string, string][] = [
      [withParam(contract.url, 'sig', null), 'missing_parameter'],
      [withParam(contract.url, 'expires', null), 'missing_parameter'],
      [withParam(contract.url, 'format', 'pdf'), 'bad_format'],
      [withParam(contract.url, 'expires', 'tomorrow'), 'bad_expires'],
    ];
    for (const [url, reason] of cases) {
      const response = await app.inject({ method: 'GET', url });
      expect(response.statusCode, url).toBe(403);
      expect(response.json().error.details.reason).toBe(reason);
    }
  });

  it('answers 404 for a validly signed link to a document that does not exist', async () => {
    now = T0;
    const link = signer.link(`ctr-${'f'.repeat(64)}`, 'html', 60);
    const response = await app.inject({ method: 'GET', url: pathOf(link.url) });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toMatchObject({ error: { code: 'BROKER_NOT_FOUND' } });
  });
});
