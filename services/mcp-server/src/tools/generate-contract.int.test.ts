import { createHash } from 'node:crypto';
import { generateSampleData, type Opportunity, productCatalogue } from '@mcp-broker/sample-data';
import type { Store } from '@mcp-broker/store';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { useTestStore } from '../../test-support/test-store.ts';
import { testToolContext } from '../../test-support/tool-context.ts';
import { CosmosDocumentStorage } from '../documents/cosmos-document-storage.ts';
import type { DocumentStorage, NewDocument } from '../documents/document-storage.ts';
import { DocumentLinkSigner } from '../documents/signed-link.ts';
import { buildGenerateContractTool } from './generate-contract.ts';
import { ToolError } from './tool-definition.ts';

const data = generateSampleData({ seed: 17, customers: 40 });
const NOW = Date.UTC(2026, 5, 30, 9, 0, 0);
const XSS = '<script>alert(1)</script>';
let store: Store;
let storage: RecordingStorage;
let tool: ReturnType<typeof buildGenerateContractTool>;
const signer = new DocumentLinkSigner({
  secret: 'generate-contract-test-secret-0123456789',
  baseUrl: 'https://mcp.example.com/api',
  now: () => NOW,
});

/** Cosmos storage that records what each put did. */
class RecordingStorage implements DocumentStorage {
  readonly puts: { id: string; created: boolean }[] = [];
  readonly inner: CosmosDocumentStorage;
  constructor(s: Store) {
    this.inner = new CosmosDocumentStorage(s);
  }
  async put(document: NewDocument, signal?: AbortSignal) {
    const result = await this.inner.put(document, signal);
    this.puts.push({ id: document.id, created: result.created });
    return result;
  }
  get: DocumentStorage['get'] = (id, format, signal) => this.inner.get(id, format, signal);
}

useTestStore('generate-contract', {
  data,
  ready: async (s) => {
    store = s;
    // A customer whose data tries to inject markup into the contract.
    const customer = { ...data.customers[0]!, id: 'cus-999999', name: XSS, industry: '"><img src=x onerror=alert(1)>' };
    const account = { ...data.accounts[0]!, id: 'acc-999999-1', customerId: customer.id, name: `${XSS} HQ` };
    const opportunity: Opportunity = {
      ...data.opportunities[0]!,
      id: 'opp-999999-01',
      customerId: customer.id,
      accountId: account.id,
      stage: 'negotiation',
      name: `<img src=x onerror=alert(2)>`,
      productIds: ['prd-0001', 'prd-0013'],
    };
    await store.container('customers').items.upsert(customer);
    await store.container('accounts').items.upsert(account);
    await store.container('opportunities').items.upsert(opportunity);
    storage = new RecordingStorage(store);
    tool = buildGenerateContractTool({ storage, signer, linkTtlSeconds: 900 });
  },
});

async function generate(
  args: Record<string, unknown>,
  context = testToolContext(store, { permissions: ['Contracts.Write'] }).context,
) {
  return tool.handler(tool.inputSchema.parse(args), context);
}

const usd = (n: number) => new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' }).format(n);
const wonOpportunity = () => data.opportunities.find((o) => o.stage === 'closed_won' && o.productIds.length > 1)!;

describe('generate_contract', () => {
  it('stores a contract naming the customer, the amount and the products, and links to it', async () => {
    const opportunity = wonOpportunity();
    const customer = data.customers.find((c) => c.id === opportunity.customerId)!;
    const result = await generate({ opportunity_id: opportunity.id });

    expect(result.document_id).toMatch(/^ctr-[0-9a-f]{64}$/);
    expect(result.formats).toEqual(['html', 'markdown']);
    expect(result.expires_at).toBe(new Date(NOW + 900_000).toISOString());
    const html = await storage.get(result.document_id, 'html');
    const markdown = await storage.get(result.document_id, 'markdown');
    expect(html?.contentType).toBe('text/html; charset=utf-8');
    expect(html?.sha256).toBe(result.sha256);
    expect(createHash('sha256').update(html!.body).digest('hex')).toBe(result.sha256);
    expect(html?.body.length).toBe(result.bytes);

    const htmlText = html!.body.toString('utf8');
    const markdownText = markdown!.body.toString('utf8');
    expect(htmlText).toContain(customer.name.replaceAll('&', '&amp;').replaceAll("'", '&#39;'));
    expect(htmlText).toContain(usd(opportunity.amount));
    expect(markdownText).toContain(`\\${usd(opportunity.amount)}`);
    for (const id of opportunity.productIds) {
      const product = productCatalogue.find((p) => p.id === id)!;
      expect(htmlText).toContain(product.name);
      expect(markdownText).toContain(product.name);
    }
    expect(htmlText).toContain('<h1>Subscription Agreement</h1>');

    for (const [url, format] of [
      [result.url, 'html'],
      [result.markdown_url, 'markdown'],
    ] as const) {
      const u = new URL(url);
      expect(`${u.origin}${u.pathname}`).toBe(`https://mcp.example.com/api/documents/${result.document_id}`);
      const verified = signer.verify({
        id: result.document_id,
        format: u.searchParams.get('format') ?? undefined,
        expires: u.searchParams.get('expires') ?? undefined,
        sig: u.searchParams.get('sig') ?? undefined,
      });
      expect(verified).toEqual({ ok: true, id: result.document_id, format, expires: (NOW + 900_000) / 1000 });
    }
  });

  it('escapes a malicious customer in the stored HTML', async () => {
    const result = await generate({ opportunity_id: 'opp-999999-01', template: 'enterprise' });
    const html = (await storage.get(result.document_id, 'html'))!.body.toString('utf8');
    expect(html).not.toMatch(/<script|<img/i);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('&lt;img src=x onerror=alert(2)&gt;');
    expect(html).toContain('&quot;&gt;&lt;img src=x onerror=alert(1)&gt;');
    const markdown = (await storage.get(result.document_id, 'markdown'))!.body.toString('utf8');
    // Every < from the data is backslash-escaped, so Markdown renders it as text.
    expect(markdown).not.toMatch(/(^|[^\\])<(script|img)/im);
    expect(markdown).toContain('\\<script\\>alert(1)\\</script\\>');
  });

  it('is idempotent: the same opportunity and template give one document with one id and hash', async () => {
    const opportunity = data.opportunities.find((o) => o.stage === 'negotiation')!;
    const first = await generate({ opportunity_id: opportunity.id, template: 'enterprise' });
    const second = await generate({ opportunity_id: opportunity.id, template: 'enterprise' });
    expect(second.document_id).toBe(first.document_id);
    expect(second.sha256).toBe(first.sha256);
    expect(second.bytes).toBe(first.bytes);
    expect(storage.puts.filter((p) => p.id === first.document_id)).toEqual([
      { id: first.document_id, created: true },
      { id: first.document_id, created: false },
    ]);
    const { resources } = await store
      .container('documents')
      .items.query<number>({
        query: 'SELECT VALUE COUNT(1) FROM c WHERE c.metadata.opportunityId = @id AND c.metadata.template = @template',
        parameters: [
          { name: '@id', value: opportunity.id },
          { name: '@template', value: 'enterprise' },
        ],
      })
      .fetchAll();
    expect(resources).toEqual([1]);

    const standard = await generate({ opportunity_id: opportunity.id });
    expect(standard.document_id).not.toBe(first.document_id);
  });

  it('stores a new document when the opportunity changes', async () => {
    const opportunity = data.opportunities.find((o) => o.stage === 'proposal')!;
    const before = await generate({ opportunity_id: opportunity.id });
    await store.container('opportunities').items.upsert({ ...opportunity, amount: opportunity.amount + 1000 });
    const after = await generate({ opportunity_id: opportunity.id });
    expect(after.document_id).not.toBe(before.document_id);
    expect((await storage.get(after.document_id, 'html'))!.body.toString()).toContain(usd(opportunity.amount + 1000));
    expect(await storage.get(before.document_id, 'html')).toBeDefined();
  });

  it('fails with a tool error for an unknown or closed-lost opportunity', async () => {
    await expect(generate({ opportunity_id: 'opp-123456-99' })).rejects.toThrow(ToolError);
    await expect(generate({ opportunity_id: 'opp-123456-99' })).rejects.toThrow(
      /No opportunity with id "opp-123456-99"/,
    );
    const lost = data.opportunities.find((o) => o.stage === 'closed_lost')!;
    await expect(generate({ opportunity_id: lost.id })).rejects.toThrow(/closed lost/);
  });

  it('binds the id as a parameter, so a crafted id is just an unknown one', async () => {
    const context = testToolContext(store).context;
    await expect(tool.handler({ opportunity_id: `x" OR 1=1 --`, template: 'standard' }, context)).rejects.toThrow(
      /No opportunity with id/,
    );
    expect(tool.inputSchema.safeParse({ opportunity_id: `x" OR 1=1 --` }).success).toBe(false);
  });

  it('stops when its signal is already aborted', async () => {
    const h = testToolContext(store);
    h.controller.abort(new Error('cancelled by test'));
    await expect(generate({ opportunity_id: wonOpportunity().id }, h.context)).rejects.toThrow(
      /cancelled by test|abort/i,
    );
  });

  it('declares its permission, timeout, write hint and self-documenting schemas', async () => {
    expect(tool.name).toBe('generate_contract');
    expect(tool.requiredPermissions).toEqual(['Contracts.Write']);
    expect(tool.timeoutMs).toBe(20_000);
    expect(tool.readOnly).toBe(false);
    expect(tool.inputSchema.parse({ opportunity_id: 'opp-000001-01' }).template).toBe('standard');
    const input = z.toJSONSchema(tool.inputSchema, { io: 'input' }) as {
      properties: Record<string, { description?: string }>;
    };
    for (const [name, property] of Object.entries(input.properties)) expect(property.description, name).toBeTruthy();
    const output = z.toJSONSchema(tool.outputSchema) as { properties: Record<string, { description?: string }> };
    for (const [name, property] of Object.entries(output.properties)) expect(property.description, name).toBeTruthy();
    const result = await generate({ opportunity_id: wonOpportunity().id });
    expect(tool.outputSchema.strict().parse(result)).toEqual(result);
    expect(tool.renderText?.(result)).toContain(result.url);
  });
});
