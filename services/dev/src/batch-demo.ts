import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { type BatchRunView, batchRunViewSchema } from '@mcp-broker/contracts';
import { type SObjectRecord, startSalesforceSandbox } from '@mcp-broker/salesforce-sandbox';
import { startDemoBroker } from './demo-broker.ts';
import {
  DEV_CALLBACK_SECRET_ENV,
  DEV_ENRICHMENT_SCHEDULE,
  DEV_SALESFORCE_SECRET_ENV,
  DEV_UPSTREAM_SECRET_ENV,
  devBrokerConfig,
  devEnrichmentSchedule,
} from './dev-broker-config.ts';
import type { DemoStep } from './salesforce-demo.ts';
import type { DevStack } from './start-dev.ts';

export interface BatchDemoOptions {
  stack: Pick<DevStack, 'mcpUrl' | 'tokenEndpoint' | 'credentialsPath'>;
  redisUrl: string;
  print: (line: string) => void;
  /** How long to wait for the run to end, in ms. Default 60,000. */
  timeoutMs?: number;
}

/** Accounts seeded in the org: customers cus-000001… of the sample data, a few enriched yesterday. */
const ACCOUNTS = 36;
const FRESH = 3;
/** An Account whose customer the MCP server does not know: its call fails and nothing is written to it. */
const UNKNOWN_CUSTOMER = 'cus-999999';
const SHOWN = ['Next_Best_Action__c', 'Action_Score__c', 'Last_Enriched__c', 'Description'] as const;

/**
 * The scheduled enrichment story: the org's Accounts carry a sample-data customer id; the nightly
 * schedule `enrich-accounts` (dev-broker-config.ts) selects those not enriched for a week with
 * SOQL, calls `next_best_action` once per Account as the demo caller and writes the top action
 * back in SObject Collections chunks. The demo starts a run now through the API instead of
 * waiting for 02:00. Runs beside the dev stack on its own Salesforce sandbox (whose Account has
 * the custom fields), ingress, worker, store and Redis key prefix, with the stack's MCP server and
 * OAuth server, so the dev launcher's own configuration is untouched.
 */
export async function runBatchDemo(options: BatchDemoOptions): Promise<DemoStep[]> {
  const steps: DemoStep[] = [];
  const storyStarted = performance.now();
  const record = (step: string, ok: boolean, detail: string) => {
    steps.push({ step, ok, detail });
    options.print(`${ok ? '✔' : '✘'} ${step}\n    ${detail.split('\n').join('\n    ')}`);
    return ok;
  };
  const { stack } = options;
  const secrets = (JSON.parse(await readFile(stack.credentialsPath, 'utf8')) as { secrets: Record<string, string> })
    .secrets;
  const salesforce = await startSalesforceSandbox({
    objects: {
      Account: {
        fields: {
          Name: { length: 255, required: true, label: 'Account Name' },
          Industry: { type: 'picklist', length: 255 },
          Description: { type: 'textarea', length: 32000 },
          Customer_Id__c: { length: 32, label: 'Customer Id' },
          Next_Best_Action__c: { length: 64, label: 'Next Best Action' },
          Action_Score__c: { type: 'int', label: 'Action Score' },
          Last_Enriched__c: { type: 'datetime', label: 'Last Enriched' },
        },
      },
    },
  });
  const password = randomUUID();
  const broker = await devBrokerConfig({
    mcpUrl: stack.mcpUrl,
    tokenEndpoint: stack.tokenEndpoint,
    upstreamClientId: 'broker-demo',
    demoPassword: password,
    keyPrefix: `mcpb-batch-demo:${randomUUID().slice(0, 8)}:`,
    salesforce: { loginUrl: salesforce.loginUrl, clientId: salesforce.clientId, apiVersion: salesforce.apiVersion },
    schedules: [devEnrichmentSchedule()],
  });
  const env = {
    [DEV_UPSTREAM_SECRET_ENV]: secrets['broker-demo'] ?? '',
    [DEV_CALLBACK_SECRET_ENV]: randomUUID(),
    [DEV_SALESFORCE_SECRET_ENV]: salesforce.clientSecret,
  };
  const demo = await startDemoBroker({ name: 'batch-demo', broker, redisUrl: options.redisUrl, env });
  const { ingress } = demo;
  const auth = `Basic ${Buffer.from(`demo:${password}`).toString('base64')}`;
  try {
    const yesterday = new Date(Date.now() - 86_400_000).toISOString();
    const ids = Array.from({ length: ACCOUNTS }, (_, i) => {
      const n = i + 1;
      const customer = n === ACCOUNTS ? UNKNOWN_CUSTOMER : `cus-${String(n).padStart(6, '0')}`;
      return salesforce.insertRecord('Account', {
        Name: `Account ${String(n).padStart(2, '0')} (${customer})`,
        Customer_Id__c: customer,
        ...(n <= FRESH ? { Next_Best_Action__c: 'renew', Action_Score__c: 40, Last_Enriched__c: yesterday } : {}),
      });
    });
    const shown = [ids[0], ids[FRESH], ids[FRESH + 1], ids[ACCOUNTS - 1]].filter((id): id is string => !!id);
    const before = new Map(salesforce.records('Account').map((r) => [r.Id, r]));
    options.print(
      `\nBatch enrichment: ${ACCOUNTS} Accounts in the org, ${FRESH} enriched yesterday; schedule "${DEV_ENRICHMENT_SCHEDULE}" ` +
        `(cron 0 2 * * * Europe/Paris) calls next_best_action for each Account not enriched for a week.`,
    );

    const list = await fetch(`${ingress.url}/v1/schedules`, { headers: { authorization: auth } });
    const listed = (await list.json()) as { items?: Array<{ id: string; nextRunAt?: string }> };
    const mine = listed.items?.find((s) => s.id === DEV_ENRICHMENT_SCHEDULE);
    record(
      'the schedule is declared, with its next nightly run',
      list.status === 200 && !!mine?.nextRunAt,
      `GET ${ingress.url}/v1/schedules → ${list.status}: ${DEV_ENRICHMENT_SCHEDULE}, next run ${mine?.nextRunAt ?? '(none)'}`,
    );

    const startUrl = `${ingress.url}/v1/schedules/${DEV_ENRICHMENT_SCHEDULE}/runs`;
    const started = await fetch(startUrl, {
      method: 'POST',
      headers: { authorization: auth, 'idempotency-key': randomUUID() },
    });
    const startBody = (await started.json()) as { id?: string; statusUrl?: string };
    // The run is followed through the statusUrl ingress answered, as a client would: it must be
    // ingress's real address (the port it listens on), the same as the Location header.
    const statusUrl = startBody.statusUrl ?? '';
    record(
      'a run starts now instead of at 02:00',
      started.status === 202 &&
        !!startBody.id &&
        statusUrl === `${ingress.url}/v1/batch-runs/${startBody.id}` &&
        started.headers.get('location') === statusUrl,
      `POST ${startUrl} (Idempotency-Key) → ${started.status}, run ${startBody.id}\nstatus: ${statusUrl || '(none)'}`,
    );
    if (!startBody.id || !statusUrl) return steps;

    const view = await runEnd(statusUrl, auth, options.timeoutMs ?? 60_000);
    const c = view?.counts;
    const expected = ACCOUNTS - FRESH;
    record(
      'the run selected the stale Accounts, called the tool once each and wrote the results back',
      view?.status === 'succeeded' &&
        c?.selected === expected &&
        c.called === expected &&
        c.writtenBack === c.succeeded,
      view
        ? [
            `GET /v1/batch-runs/${view.id} → ${view.status}`,
            `selected ${c?.selected}, called ${c?.called}, succeeded ${c?.succeeded}, failed ${c?.failed}, ` +
              `written back ${c?.writtenBack} (refused ${c?.writeBackFailed}), in ${view.durationMs} ms`,
            `errors by code: ${view.errorsByCode.map((e) => `${e.code} ×${e.count}`).join(', ') || 'none'}`,
            `(the story so far, its own sandbox, ingress and worker started: ${((performance.now() - storyStarted) / 1000).toFixed(1)} s)`,
          ].join('\n')
        : 'the run did not end in time',
    );

    const after = new Map(salesforce.records('Account').map((r) => [r.Id, r]));
    const changed = ids.filter((id) => after.get(id)?.Last_Enriched__c !== before.get(id)?.Last_Enriched__c);
    const unknown = ids[ACCOUNTS - 1] ?? '';
    record(
      'Account fields before and after: fresh ones untouched, the unknown customer not written',
      changed.length === (c?.writtenBack ?? -1) &&
        ids.slice(0, FRESH).every((id) => !changed.includes(id)) &&
        !changed.includes(unknown),
      shown.map((id) => describeChange(before.get(id), after.get(id))).join('\n'),
    );
  } finally {
    await demo.close();
    await salesforce.close();
  }
  return steps;
}

async function runEnd(url: string, authorization: string, timeoutMs: number): Promise<BatchRunView | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const res = await fetch(url, { headers: { authorization } });
    if (res.status === 200) {
      const view = batchRunViewSchema.parse(await res.json());
      if (['succeeded', 'failed', 'cancelled', 'skipped'].includes(view.status)) return view;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return undefined;
}

function describeChange(before: SObjectRecord | undefined, after: SObjectRecord | undefined): string {
  const fields = (r: SObjectRecord | undefined) =>
    SHOWN.map((f) => `${f}=${JSON.stringify(r?.[f] ?? null)?.slice(0, 80)}`).join(', ');
  return `${after?.Name ?? before?.Name} (${after?.Id ?? before?.Id})\n  before: ${fields(before)}\n  after:  ${fields(after)}`;
}
