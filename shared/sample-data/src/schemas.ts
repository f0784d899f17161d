import { z } from 'zod';

/**
 * The CRM record shapes, one per Cosmos container. Every record carries `id` and the field its
 * container partitions on (see @mcp-broker/store container-definitions). Tools reuse these schemas
 * as output schemas, so the descriptions end up in `tools/list`.
 */

export const segments = ['enterprise', 'mid-market', 'smb'] as const;
export const regions = ['emea', 'amer', 'apac'] as const;
export const accountTiers = ['platinum', 'gold', 'silver', 'bronze'] as const;
export const opportunityStages = [
  'prospecting',
  'qualification',
  'proposal',
  'negotiation',
  'closed_won',
  'closed_lost',
] as const;
/** Stages after which an opportunity no longer counts towards the open pipeline. */
export const closedOpportunityStages = ['closed_won', 'closed_lost'] as const;
export const casePriorities = ['low', 'medium', 'high', 'critical'] as const;
export const caseStatuses = ['open', 'pending', 'closed'] as const;

export const segmentSchema = z.enum(segments).describe('Customer size segment.');
export const regionSchema = z.enum(regions).describe('Sales region: emea, amer or apac.');
const customerId = z
  .string()
  .regex(/^cus-\d{6}$/)
  .describe('Customer id, e.g. cus-000042.');
const productId = z
  .string()
  .regex(/^prd-\d{4}$/)
  .describe('Product id, e.g. prd-0007.');
const money = z.number().describe('Amount in USD with at most 2 decimals.');
const timestamp = z.iso.datetime().describe('ISO 8601 UTC timestamp.');

export const customerSchema = z.object({
  id: customerId,
  name: z.string().describe('Company name.'),
  segment: segmentSchema,
  region: regionSchema,
  industry: z.string().describe('Industry the customer operates in.'),
  createdAt: timestamp.describe('When the customer was created in the CRM.'),
  email: z.string().describe('Main contact address (example.com domains only).'),
});
export type Customer = z.infer<typeof customerSchema>;

export const accountSchema = z.object({
  id: z.string().describe('Account id, e.g. acc-000042-1 (customer number, then ordinal).'),
  customerId,
  name: z.string().describe('Account (business unit) name.'),
  tier: z.enum(accountTiers).describe('Service tier.'),
  annualRevenue: z.number().int().describe("The account's own annual revenue in USD (firmographic, not sales to it)."),
  createdAt: timestamp.describe('When the account was opened.'),
});
export type Account = z.infer<typeof accountSchema>;

export const opportunitySchema = z.object({
  id: z.string().describe('Opportunity id, e.g. opp-000042-03.'),
  customerId,
  accountId: z.string().describe('Account the deal is booked under.'),
  name: z.string().describe('Deal name.'),
  stage: z.enum(opportunityStages).describe('Sales stage; closed_won and closed_lost are closed.'),
  amount: money.describe('Expected deal value in USD.'),
  currency: z.literal('USD').describe('Currency of `amount`; always USD.'),
  productIds: z.array(productId).describe('Products in the deal.'),
  closeDate: z.iso
    .date()
    .describe('Actual close date when closed, expected close date when open (may be in the future).'),
  createdAt: timestamp.describe('When the opportunity was created.'),
  updatedAt: timestamp.describe('Last change.'),
});
export type Opportunity = z.infer<typeof opportunitySchema>;

export const orderLineSchema = z.object({
  productId,
  productName: z.string().describe('Product name at order time.'),
  category: z.string().describe('Product category at order time.'),
  quantity: z.number().int().positive().describe('Units ordered.'),
  unitPrice: money.describe('Net price per unit in USD after discount.'),
  amount: money.describe('quantity × unitPrice in USD.'),
});
export type OrderLine = z.infer<typeof orderLineSchema>;

export const orderSchema = z.object({
  id: z.string().describe('Order id, e.g. ord-000042-007 (chronological within the customer).'),
  customerId,
  accountId: z.string().describe('Account that placed the order.'),
  orderDate: timestamp.describe('When the order was placed.'),
  region: regionSchema.describe("The customer's region, copied so sales queries filter without a join."),
  segment: segmentSchema.describe("The customer's segment, copied so sales can be grouped without a join."),
  lines: z.array(orderLineSchema).describe('Order lines, one per product.'),
  total: money.describe('Sum of line amounts in USD.'),
});
export type Order = z.infer<typeof orderSchema>;

export const productSchema = z.object({
  id: productId,
  name: z.string().describe('Product name.'),
  category: z.string().describe('Product category (the products container partition key).'),
  listPrice: money.describe('List price per unit in USD.'),
});
export type Product = z.infer<typeof productSchema>;

export const caseSchema = z.object({
  id: z.string().describe('Support case id, e.g. cas-000042-02.'),
  customerId,
  subject: z.string().describe('Short description of the issue.'),
  priority: z.enum(casePriorities).describe('Support priority.'),
  status: z.enum(caseStatuses).describe('open and pending cases are unresolved.'),
  openedAt: timestamp.describe('When the case was opened.'),
  closedAt: timestamp.optional().describe('When the case was closed; present only when status is closed.'),
});
export type SupportCase = z.infer<typeof caseSchema>;

export type Segment = z.infer<typeof segmentSchema>;
export type Region = z.infer<typeof regionSchema>;
