import { type Opportunity, opportunitySchema, type Product, productSchema } from '@mcp-broker/sample-data';
import { z } from 'zod';
import { readAllPages } from '../data/partition-scan.ts';
import { type DocumentStorage, documentFormats, sha256Hex } from '../documents/document-storage.ts';
import type { DocumentLinkSigner } from '../documents/signed-link.ts';
import { type ContractTemplate, contractTemplates, renderContract } from './contract-renderer.ts';
import { findAccount, findCustomer } from './customer-lookup.ts';
import { defineTool, type ToolContext, ToolError } from './tool-definition.ts';

export const generateContractInput = z.object({
  opportunity_id: z
    .string()
    .regex(/^opp-\d{6}-\d{2,}$/, 'opportunity_id must look like opp-000042-03')
    .describe('Opportunity id, e.g. opp-000042-03.'),
  template: z
    .enum(contractTemplates)
    .default('standard')
    .describe(
      'standard: 12-month subscription, 99.5 % availability, business-hours support. enterprise: 36-month MSA, ' +
        '99.9 % with service credits, 24×7 support, data protection and security review clauses. Default standard.',
    ),
});

export const generateContractOutput = z.object({
  document_id: z
    .string()
    .describe('Content-addressed document id: the same opportunity data and template always give the same id.'),
  url: z
    .string()
    .describe(
      'Signed link to the HTML rendering, served by this server without a bearer token; expires at expires_at.',
    ),
  markdown_url: z.string().describe('Signed link to the Markdown rendering, with the same expiry.'),
  expires_at: z.iso.datetime().describe('When both links stop working (ISO 8601 UTC).'),
  sha256: z.string().describe('Hex SHA-256 of the HTML bytes served at url.'),
  bytes: z.number().int().describe('Size of the HTML rendering in bytes.'),
  formats: z.array(z.enum(documentFormats)).describe('Formats stored for the document.'),
});

/** What the tool is built from; `start.ts` passes the configured storage and signer. */
export interface GenerateContractOptions {
  /** Where documents are written (Cosmos `documents` container or blob storage). */
  storage: DocumentStorage;
  /** Signs the links; it knows the server's public URL. */
  signer: DocumentLinkSigner;
  /** Lifetime of the returned links in seconds. Default 3600. */
  linkTtlSeconds?: number;
}

/**
 * Builds `generate_contract`: reads an opportunity (a cross-partition query by id, the caller knows
 * no customer id), its account, customer and products, renders the contract as Markdown and HTML,
 * stores it under a content-addressed id, and returns signed, expiring links that this server serves
 * on `GET /documents/{id}`. Generating the same contract again stores nothing new.
 */
/** The app roles generate_contract needs (exported: it is built at start, outside `productTools`). */
export const GENERATE_CONTRACT_PERMISSIONS = ['Contracts.Write'] as const;

export function buildGenerateContractTool(options: GenerateContractOptions) {
  const { storage, signer } = options;
  const linkTtlSeconds = options.linkTtlSeconds ?? 3600;
  return defineTool({
    name: 'generate_contract',
    title: 'Generate contract',
    description:
      'Renders a contract for an opportunity (customer, account, products, contract value, terms of the standard ' +
      'or enterprise template) as HTML and Markdown, stores it, and returns a signed download link valid for ' +
      `${Math.round(linkTtlSeconds / 60)} minutes with the document's SHA-256. Idempotent: the same opportunity data ` +
      'and template give the same document id. Fails for unknown or closed-lost opportunities.',
    inputSchema: generateContractInput,
    outputSchema: generateContractOutput,
    requiredPermissions: [...GENERATE_CONTRACT_PERMISSIONS],
    timeoutMs: 20_000,
    readOnly: false,
    async handler({ opportunity_id: opportunityId, template }, context) {
      const { signal, logger } = context;
      // The registry applies the schema default; direct callers may not have parsed their arguments.
      const chosen: ContractTemplate = template ?? 'standard';
      const data = await readContractData(context, opportunityId);
      if (data.opportunity.stage === 'closed_lost') {
        throw new ToolError(`Opportunity "${opportunityId}" is closed lost; there is no contract to generate.`);
      }
      const rendered = renderContract(data, chosen);
      signal.throwIfAborted();

      const htmlSha256 = sha256Hex(rendered.html);
      const documentId = contractDocumentId(opportunityId, chosen, htmlSha256, sha256Hex(rendered.markdown));
      const { created } = await storage.put(
        {
          id: documentId,
          kind: 'contract',
          fileName: rendered.fileName,
          metadata: { opportunityId, customerId: data.customer.id, template: chosen },
          bodies: { html: rendered.html, markdown: rendered.markdown },
        },
        signal,
      );
      logger.info({ documentId, created, opportunityId, template: chosen }, 'contract stored');

      const html = signer.link(documentId, 'html', linkTtlSeconds);
      const markdown = signer.link(documentId, 'markdown', linkTtlSeconds);
      return {
        document_id: documentId,
        url: html.url,
        markdown_url: markdown.url,
        expires_at: html.expiresAt,
        sha256: htmlSha256,
        bytes: Buffer.byteLength(rendered.html, 'utf8'),
        formats: [...documentFormats],
      };
    },
    renderText: (r) =>
      `Contract ${r.document_id} (${r.bytes} bytes, sha256 ${r.sha256}).\nHTML: ${r.url}\nMarkdown: ${r.markdown_url}\n` +
      `Links expire at ${r.expires_at}.`,
  });
}

/**
 * `ctr-` and the hex SHA-256 of the opportunity id, the template and both renderings' hashes: the
 * same inputs and data give the same id, and any change in the data gives a new document.
 */
export function contractDocumentId(
  opportunityId: string,
  template: ContractTemplate,
  htmlSha256: string,
  markdownSha256: string,
): string {
  return `ctr-${sha256Hex(['contract', opportunityId, template, htmlSha256, markdownSha256].join('\n'))}`;
}

async function readContractData(context: ToolContext, opportunityId: string) {
  const { store, signal } = context;
  // Opportunities partition on customerId, which the caller does not give: a cross-partition query.
  const opportunities = await readAllPages(
    store
      .container('opportunities')
      .items.query(
        { query: 'SELECT * FROM c WHERE c.id = @id', parameters: [{ name: '@id', value: opportunityId }] },
        { abortSignal: signal },
      ),
    signal,
  );
  if (opportunities.length === 0) {
    throw new ToolError(`No opportunity with id "${opportunityId}"; check the id (e.g. opp-000042-03).`);
  }
  const opportunity: Opportunity = opportunitySchema.parse(opportunities[0]);
  const { customerId, accountId } = opportunity;

  const [customer, account, productRows] = await Promise.all([
    findCustomer(context, customerId),
    findAccount(context, accountId, customerId),
    readAllPages(
      // Products partition on category; the catalogue is small, so one cross-partition query.
      store.container('products').items.query(
        {
          query: 'SELECT * FROM c WHERE ARRAY_CONTAINS(@ids, c.id)',
          parameters: [{ name: '@ids', value: opportunity.productIds }],
        },
        { abortSignal: signal },
      ),
      signal,
    ),
  ]);
  if (!customer)
    throw new ToolError(`Opportunity "${opportunityId}" names customer "${customerId}", which does not exist.`);
  if (!account)
    throw new ToolError(`Opportunity "${opportunityId}" names account "${accountId}", which does not exist.`);
  const byId = new Map(productRows.map((row) => productSchema.parse(row)).map((p) => [p.id, p]));
  const missing = opportunity.productIds.filter((id) => !byId.has(id));
  if (missing.length > 0) {
    throw new ToolError(`Opportunity "${opportunityId}" names products not in the catalogue: ${missing.join(', ')}.`);
  }
  const products: Product[] = [...new Set(opportunity.productIds)].map((id) => byId.get(id)!);
  return { opportunity, customer, account, products };
}
