import { createHash } from 'node:crypto';
import type { Account, Customer, Opportunity, Product } from '@mcp-broker/sample-data';
import { lastDayOfTerm } from './calendar.ts';
import { usd } from './money.ts';

export const contractTemplates = ['standard', 'enterprise'] as const;
export type ContractTemplate = (typeof contractTemplates)[number];

/** Everything a contract is rendered from; nothing else (no clock), so rendering is deterministic. */
export interface ContractData {
  opportunity: Opportunity;
  account: Account;
  customer: Customer;
  /** The opportunity's products, in the order of `opportunity.productIds`. */
  products: Product[];
}

export interface RenderedContract {
  title: string;
  /** Download name without extension, from ids only (safe in a header). */
  fileName: string;
  markdown: string;
  /** A standalone HTML document; its only style is `CONTRACT_STYLE`, allowed by hash in the CSP. */
  html: string;
}

/** The provider named in every contract (the sample data's fictional vendor). */
const PROVIDER = {
  name: 'Example Software Ltd.',
  address: '1 Sample Street, Example City',
  email: 'contracts@example.com',
};

interface TemplateTerms {
  title: string;
  termMonths: number;
  paymentTerms: string;
  invoicing: string;
  availability: string;
  support: string;
  liabilityCap: string;
  extraClauses: { heading: string; text: string }[];
}

const templates: Record<ContractTemplate, TemplateTerms> = {
  standard: {
    title: 'Subscription Agreement',
    termMonths: 12,
    paymentTerms: 'net 30 days from the invoice date',
    invoicing: 'annually in advance',
    availability: '99.5 % monthly availability of the hosted services',
    support: 'business-hours support (09:00–17:00 in the Customer’s region), first response within one business day',
    liabilityCap: 'the fees paid by the Customer in the 12 months before the claim',
    extraClauses: [],
  },
  enterprise: {
    title: 'Enterprise Master Services Agreement',
    termMonths: 36,
    paymentTerms: 'net 45 days from the invoice date',
    invoicing: 'quarterly in advance',
    availability:
      '99.9 % monthly availability of the hosted services, with service credits of 10 % of the monthly fee per 0.1 % shortfall',
    support:
      '24×7 support with a named technical account manager; first response within 1 hour for critical and 4 hours for high-priority cases',
    liabilityCap: 'twice the annual fees under this Agreement',
    extraClauses: [
      {
        heading: 'Data protection',
        text: 'The Data Processing Addendum forms part of this Agreement. The Provider processes personal data only on the Customer’s documented instructions and notifies the Customer of a personal data breach without undue delay, and in any case within 48 hours.',
      },
      {
        heading: 'Security review',
        text: 'Once a year, on 30 days’ notice, the Customer may review the Provider’s security controls, or accept the Provider’s current independent audit report instead.',
      },
    ],
  },
};

const STAGE_STATUS: Record<Opportunity['stage'], string> = {
  prospecting: 'Draft: the opportunity is in prospecting; not for signature.',
  qualification: 'Draft: the opportunity is in qualification; not for signature.',
  proposal: 'Draft for review: the opportunity is at the proposal stage.',
  negotiation: 'Draft for signature: the opportunity is in negotiation.',
  closed_won: 'For signature: the opportunity is closed won.',
  closed_lost: 'Not valid: the opportunity is closed lost.',
};

/** The document's only style sheet; its hash is what the Content-Security-Policy allows. */
export const CONTRACT_STYLE = [
  'body{font-family:Georgia,serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#111;line-height:1.5}',
  'h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.15rem;margin-top:1.8rem;border-bottom:1px solid #ccc}',
  'table{border-collapse:collapse;width:100%}th,td{border:1px solid #bbb;padding:.3rem .5rem;text-align:left}',
  'td.num,th.num{text-align:right}.status{font-style:italic;color:#444}.sign td{height:3rem;vertical-align:bottom}',
].join('');

/** `Content-Security-Policy` for the rendered HTML: no scripts, no fetches, only the style above. */
export const CONTRACT_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  `style-src 'sha256-${createHash('sha256').update(CONTRACT_STYLE).digest('base64')}'`,
  "img-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const longDate = new Intl.DateTimeFormat('en-GB', { dateStyle: 'long', timeZone: 'UTC' });

/** Renders the contract for an opportunity as Markdown and as standalone HTML. */
export function renderContract(data: ContractData, template: ContractTemplate): RenderedContract {
  const { opportunity, account, customer, products } = data;
  const terms = templates[template];
  const start = opportunity.closeDate;
  const end = lastDayOfTerm(start, terms.termMonths);
  const model: ContractModel = {
    title: terms.title,
    pageTitle: `${terms.title}: ${customer.name}`,
    status: STAGE_STATUS[opportunity.stage],
    reference: `${opportunity.id} (${template} template)`,
    parties: [
      ['Provider', `${PROVIDER.name}, ${PROVIDER.address} (${PROVIDER.email})`],
      ['Customer', `${customer.name} (${customer.id}), ${customer.industry}, region ${customer.region.toUpperCase()}`],
      ['Account', `${account.name} (${account.id}), ${account.tier} tier`],
      ['Customer contact', customer.email],
    ],
    summary: [
      ['Deal', opportunity.name],
      ['Total contract value', usd(opportunity.amount)],
      ['Term', `${terms.termMonths} months, from ${formatDay(start)} to ${formatDay(end)}`],
      ['Invoicing', `${terms.invoicing}; payment ${terms.paymentTerms}`],
    ],
    products: products.map((p) => [p.id, p.name, p.category, usd(p.listPrice)]),
    clauses: [
      {
        heading: 'Services',
        text: `The Provider supplies the products in Schedule 1 to ${customer.name} for the term above. The total contract value is ${usd(opportunity.amount)} (USD, excluding taxes), invoiced ${terms.invoicing}.`,
      },
      { heading: 'Service levels', text: `The Provider commits to ${terms.availability}, and ${terms.support}.` },
      {
        heading: 'Payment',
        text: `Invoices are payable ${terms.paymentTerms}. Late amounts bear interest at 1 % per month.`,
      },
      {
        heading: 'Liability',
        text: `Each party’s total liability under this Agreement is limited to ${terms.liabilityCap}, except for confidentiality breaches and amounts owed.`,
      },
      ...terms.extraClauses,
      {
        heading: 'Term and renewal',
        text: `This Agreement starts on ${formatDay(start)} and renews for successive 12-month periods unless either party gives 60 days’ written notice.`,
      },
    ],
    signatories: [PROVIDER.name, customer.name],
  };
  return {
    title: model.pageTitle,
    fileName: `contract-${opportunity.id}-${template}`.replace(/[^A-Za-z0-9._-]/g, '_'),
    markdown: toMarkdown(model),
    html: toHtml(model),
  };
}

/** The contract as structured text; both renderings are built from it and escape every value. */
interface ContractModel {
  title: string;
  /** The HTML `<title>`: the agreement and the customer. */
  pageTitle: string;
  status: string;
  reference: string;
  parties: [string, string][];
  summary: [string, string][];
  products: [string, string, string, string][];
  clauses: { heading: string; text: string }[];
  signatories: string[];
}

const PRODUCT_HEADERS = ['Product', 'Name', 'Category', 'List price (USD)'];

function toMarkdown(m: ContractModel): string {
  const row = (cells: string[]) => `| ${cells.map(md).join(' | ')} |`;
  const lines = [
    `# ${md(m.title)}`,
    '',
    `*${md(m.status)}*`,
    '',
    `Reference: ${md(m.reference)}`,
    '',
    '## Parties',
    '',
    ...m.parties.map(([label, value]) => `- **${md(label)}:** ${md(value)}`),
    '',
    '## Summary',
    '',
    ...m.summary.map(([label, value]) => `- **${md(label)}:** ${md(value)}`),
    '',
    '## Schedule 1: Products',
    '',
    row(PRODUCT_HEADERS),
    '| --- | --- | --- | ---: |',
    ...m.products.map(row),
    '',
    ...m.clauses.flatMap((c, i) => [`## ${i + 1}. ${md(c.heading)}`, '', md(c.text), '']),
    '## Signatures',
    '',
    row(['Party', 'Name', 'Title', 'Signature', 'Date']),
    '| --- | --- | --- | --- | --- |',
    ...m.signatories.map((party) => row([party, '', '', '', ''])),
    '',
  ];
  return lines.join('\n');
}

function toHtml(m: ContractModel): string {
  const definitionList = (items: [string, string][]) =>
    `<dl>${items.map(([label, value]) => `<dt>${html(label)}</dt><dd>${html(value)}</dd>`).join('')}</dl>`;
  const cell = (tag: 'td' | 'th', value: string, index: number) =>
    index === 3 ? `<${tag} class="num">${html(value)}</${tag}>` : `<${tag}>${html(value)}</${tag}>`;
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="referrer" content="no-referrer">',
    `<title>${html(m.pageTitle)}</title>`,
    `<style>${CONTRACT_STYLE}</style>`,
    '</head>',
    '<body>',
    `<h1>${html(m.title)}</h1>`,
    `<p class="status">${html(m.status)}</p>`,
    `<p>Reference: ${html(m.reference)}</p>`,
    '<h2>Parties</h2>',
    definitionList(m.parties),
    '<h2>Summary</h2>',
    definitionList(m.summary),
    '<h2>Schedule 1: Products</h2>',
    '<table>',
    `<thead><tr>${PRODUCT_HEADERS.map((h, i) => cell('th', h, i)).join('')}</tr></thead>`,
    `<tbody>${m.products.map((p) => `<tr>${p.map((v, i) => cell('td', v, i)).join('')}</tr>`).join('')}</tbody>`,
    '</table>',
    ...m.clauses.map((c, i) => `<h2>${i + 1}. ${html(c.heading)}</h2>\n<p>${html(c.text)}</p>`),
    '<h2>Signatures</h2>',
    '<table class="sign">',
    '<thead><tr><th>Party</th><th>Name</th><th>Title</th><th>Signature</th><th>Date</th></tr></thead>',
    `<tbody>${m.signatories.map((p) => `<tr><td>${html(p)}</td><td></td><td></td><td></td><td></td></tr>`).join('')}</tbody>`,
    '</table>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

/**
 * Escapes text for Markdown: every character that opens inline syntax (emphasis, code, links and
 * images via `[`, raw HTML, entities, table cells, strikethrough, math) gets a backslash and line
 * breaks become spaces, so a value can neither format, link, break a table nor inject HTML. Block
 * syntax (`-`, `1.`, `#` at the start of a line) needs no escaping: values never start a line.
 */
export function escapeMarkdown(value: string): string {
  return value.replace(/[\r\n]+/g, ' ').replace(/[\\`*_[\]<>&|~$]/g, (c) => `\\${c}`);
}

const html = escapeHtml;
const md = escapeMarkdown;

function formatDay(day: string): string {
  return longDate.format(new Date(`${day}T00:00:00Z`));
}
