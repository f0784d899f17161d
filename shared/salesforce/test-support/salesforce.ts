/**
 * Shared by this package's tests (not exported): a sandbox org configured as the broker would
 * configure it, a logger that records, and tool-call records.
 */

import type { DeliveryContext } from '@mcp-broker/broker';
import { type SalesforceOrgConfig, salesforceOrgSchema } from '@mcp-broker/broker-config';
import type { ToolCallRecord } from '@mcp-broker/contracts';
import {
  DEFAULT_SOBJECTS,
  type SalesforceSandbox,
  type SalesforceSandboxOptions,
  type SObjectDefinition,
  startSalesforceSandbox,
} from '@mcp-broker/salesforce-sandbox';
import { OrgConnections } from '../src/org-connections.ts';
import type { SalesforceLogger } from '../src/salesforce-logger.ts';

export interface LogEntry {
  level: 'info' | 'warn';
  fields: Record<string, unknown>;
  message: string;
}

/** Records what is logged; counts logins. */
export class LogRecorder implements SalesforceLogger {
  readonly entries: LogEntry[] = [];
  info(fields: Record<string, unknown>, message: string) {
    this.entries.push({ level: 'info', fields, message });
  }
  warn(fields: Record<string, unknown>, message: string) {
    this.entries.push({ level: 'warn', fields, message });
  }
  logins(org?: string): number {
    return this.entries.filter((e) => e.message === 'Salesforce login succeeded' && (!org || e.fields.org === org))
      .length;
  }
  /** Why each login happened, in order. */
  loginReasons(): unknown[] {
    return this.entries.filter((e) => e.message === 'Salesforce login succeeded').map((e) => e.fields.reason);
  }
  /** Everything logged, as one string, to look for secrets in. */
  text(): string {
    return JSON.stringify(this.entries);
  }
}

export const CALLER = 'acme-sales';
export const ORG = 'acme-prod';
export const SECRET_VAR = 'ACME_SF_CLIENT_SECRET';

/** The default org with `extra` objects merged in (e.g. validation rules). */
export function withObjects(extra: Record<string, Partial<SObjectDefinition>>): Record<string, SObjectDefinition> {
  const objects: Record<string, SObjectDefinition> = {};
  for (const [name, definition] of Object.entries(extra)) {
    const base = DEFAULT_SOBJECTS[name] ?? { fields: {} };
    objects[name] = { ...base, ...definition, fields: { ...base.fields, ...definition.fields } };
  }
  return objects;
}

export function clientCredentialsOrg(
  sandbox: SalesforceSandbox,
  overrides: { id?: string; caller?: string } = {},
): SalesforceOrgConfig {
  return salesforceOrgSchema.parse({
    id: overrides.id ?? ORG,
    caller: overrides.caller ?? CALLER,
    loginUrl: sandbox.loginUrl,
    apiVersion: sandbox.apiVersion,
    auth: { type: 'client-credentials', clientId: sandbox.clientId, clientSecret: { fromEnv: SECRET_VAR } },
  });
}

export interface SandboxOrg {
  sandbox: SalesforceSandbox;
  /** Mutable: tests change secrets between logins. */
  env: Record<string, string | undefined>;
  logs: LogRecorder;
  /** `acme-prod` (caller `acme-sales`) and `globex-prod` (caller `globex`), both on the sandbox. */
  orgs: OrgConnections;
  close(): Promise<void>;
}

/** A sandbox and two configured orgs on it: ours (`acme-prod`) and another caller's (`globex-prod`). */
export async function startSandboxOrg(options: SalesforceSandboxOptions = {}): Promise<SandboxOrg> {
  const sandbox = await startSalesforceSandbox(options);
  const env: Record<string, string | undefined> = { [SECRET_VAR]: sandbox.clientSecret };
  const logs = new LogRecorder();
  const orgs = new OrgConnections({
    orgs: [clientCredentialsOrg(sandbox), clientCredentialsOrg(sandbox, { id: 'globex-prod', caller: 'globex' })],
    env,
    logger: logs,
  });
  return {
    sandbox,
    env,
    logs,
    orgs,
    async close() {
      await orgs.close();
      await sandbox.close();
    },
  };
}

/** A final tool-call record; `result` defaults to a succeeded `generate_contract`. */
export function toolCallRecord(overrides: Partial<ToolCallRecord> = {}): ToolCallRecord {
  const at = '2026-11-26T10:00:00.000Z';
  return {
    id: 'tc_3f9a1c2e0b7d4e5f8a6b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f',
    caller: CALLER,
    endpoint: 'contracts',
    tool: 'generate_contract',
    fingerprint: 'f'.repeat(64),
    idempotencyKey: 'opp-0065g00000ABCDE-v1',
    arguments: { opportunityId: '0065g00000ABCDEAAA' },
    source: { kind: 'salesforce', reference: '42' },
    correlation: { requestId: 'req-1' },
    status: 'succeeded',
    history: [{ status: 'succeeded', at }],
    result: {
      content: [{ type: 'text', text: 'Contract generated.' }],
      structuredContent: { url: 'https://docs.example.com/contracts/C-1001.pdf', pages: 3 },
    },
    attempts: 1,
    deliveries: [],
    createdAt: at,
    updatedAt: at,
    completedAt: at,
    ...overrides,
  };
}

export function deliveryContext(record: ToolCallRecord, signal = new AbortController().signal): DeliveryContext {
  return { record, targetIndex: 0, signal };
}

export const RESULT_URL_BASE = 'https://broker.example.com/v1/tool-calls/';
export const resultUrlFor = (record: ToolCallRecord) => `${RESULT_URL_BASE}${record.id}`;

/** The error a delivery fails with; throws if it succeeds instead. */
export function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected the delivery to fail');
    },
    (error: unknown) => error,
  );
}
