import { type Account, accountSchema, type Customer, customerSchema } from '@mcp-broker/sample-data';
import type { ContainerName } from '@mcp-broker/store';
import { z } from 'zod';
import { type QueryParameter, scanPartition } from '../data/partition-scan.ts';
import { type ToolContext, ToolError } from './tool-definition.ts';

type ReadContext = Pick<ToolContext, 'store' | 'signal'>;

/** The `customer_id` argument of the tools that work on one customer. */
export const customerIdArgument = z
  .string()
  .regex(/^cus-\d{6}$/, 'customer_id must be "cus-" followed by six digits, e.g. cus-000042')
  .describe('Customer id: "cus-" followed by six digits, e.g. cus-000042.');

/** The customer with this id, or undefined. Customers partition on their id: a point read. */
export async function findCustomer({ store, signal }: ReadContext, customerId: string): Promise<Customer | undefined> {
  const { resource } = await store.container('customers').item(customerId, customerId).read({ abortSignal: signal });
  return resource ? customerSchema.parse(resource) : undefined;
}

/** The customer with this id; a tool error naming the id when there is none. */
export async function requireCustomer(context: ReadContext, customerId: string): Promise<Customer> {
  const customer = await findCustomer(context, customerId);
  if (!customer) {
    throw new ToolError(
      `No customer with id "${customerId}"; check the id (customer ids are assigned in order from cus-000001).`,
    );
  }
  return customer;
}

/** The account with this id in its customer's partition, or undefined: a point read. */
export async function findAccount(
  { store, signal }: ReadContext,
  accountId: string,
  customerId: string,
): Promise<Account | undefined> {
  const { resource } = await store.container('accounts').item(accountId, customerId).read({ abortSignal: signal });
  return resource ? accountSchema.parse(resource) : undefined;
}

/**
 * Every row a query returns from one customer's partition (records partition on customerId), with
 * `@customerId` bound to the customer. The query is the tool's constant, never caller input.
 */
export function queryCustomerPartition<T = unknown>(
  context: ReadContext,
  container: ContainerName,
  customerId: string,
  query: string,
  parameters: QueryParameter[] = [],
): Promise<T[]> {
  return scanPartition<T>(context, container, customerId, query, [
    { name: '@customerId', value: customerId },
    ...parameters,
  ]);
}
