import { randomUUID } from 'node:crypto';
import type { ToolCallView } from '@mcp-broker/contracts';
import type { SalesforceSandbox } from '@mcp-broker/salesforce-sandbox';
import jsforce from 'jsforce';
import { DEV_SALESFORCE_ORG } from './dev-broker-config.ts';

/** One step of the demo: what happened, and whether it is what should have. */
export interface DemoStep {
  step: string;
  ok: boolean;
  detail: string;
}

export interface SalesforceDemoOptions {
  salesforce: SalesforceSandbox;
  /** The sample-data opportunity the demo's Salesforce Opportunity stands for (its external id). */
  sampleOpportunity: { id: string; customerId: string; amount: number };
  ingressUrl: string;
  /** The demo caller's Basic password. */
  password: string;
  /** Prints a line as each step ends. */
  print: (line: string) => void;
  /** How long to wait for each asynchronous outcome, in ms. Default 60,000. */
  timeoutMs?: number;
}

/**
 * The broker's main job, told as the two Salesforce stories it exists for:
 *
 * 1. **Flow trigger.** An Opportunity closes; a record-triggered Flow publishes
 *    `MCP_Tool_Request__e` (the sandbox has no Flows, so the demo publishes it over REST, as the
 *    Flow's "Create Records" element would); the broker consumes it, calls `generate_contract`
 *    through the governed MCP server as the org's caller, and writes `Contract_URL__c` back.
 * 2. **Async Apex.** A Queueable posts to `/v1/tool-calls` with a `salesforce-result` write-back,
 *    gets 202 at once, and the result lands on an `MCP_Result__c` record.
 */
export async function runSalesforceDemo(options: SalesforceDemoOptions): Promise<DemoStep[]> {
  const steps: DemoStep[] = [];
  const record = (step: string, ok: boolean, detail: string) => {
    steps.push({ step, ok, detail });
    options.print(`${ok ? '✔' : '✘'} ${step}\n    ${detail.split('\n').join('\n    ')}`);
    return ok;
  };
  const timeoutMs = options.timeoutMs ?? 60_000;
  const { salesforce, sampleOpportunity: sample } = options;

  // The org's own side of the story talks to Salesforce's REST API, as Flows and users would.
  const org = new jsforce.Connection({
    oauth2: { loginUrl: salesforce.loginUrl, clientId: salesforce.clientId, clientSecret: salesforce.clientSecret },
    version: salesforce.apiVersion,
  });
  await org.authorize({ grant_type: 'client_credentials' });

  const opportunityId = salesforce.insertRecord('Opportunity', {
    Name: `Renewal for ${sample.customerId} (${sample.id})`,
    StageName: 'Negotiation/Review',
    CloseDate: '2026-12-31',
    Amount: sample.amount,
    Description: `Sample-data opportunity ${sample.id}`,
  });
  const opportunity = () => salesforce.records('Opportunity').find((r) => r.Id === opportunityId);
  record(
    'Opportunity before',
    opportunity()?.Contract_URL__c == null,
    `${opportunityId} "${opportunity()?.Name}": StageName ${opportunity()?.StageName}, Contract_URL__c ${String(opportunity()?.Contract_URL__c ?? null)}`,
  );

  await org.sobject('Opportunity').update({ Id: opportunityId, StageName: 'Closed Won' });
  const requestId = `flow-${opportunityId}-${randomUUID().slice(0, 8)}`;
  const published = await org.sobject('MCP_Tool_Request__e').create({
    Tool__c: 'generate_contract',
    Arguments__c: JSON.stringify({ opportunity_id: sample.id }),
    Record_Id__c: opportunityId,
    Request_Id__c: requestId,
    Write_Back__c: JSON.stringify([
      { type: 'salesforce-record', sobject: 'Opportunity', fields: { Contract_URL__c: 'structuredContent.url' } },
      { type: 'salesforce-result' },
    ]),
  });
  record(
    'Opportunity closed; the Flow publishes MCP_Tool_Request__e',
    published.success === true,
    `StageName Closed Won; event Tool__c generate_contract, Request_Id__c ${requestId}`,
  );

  // The result record says when the call ended, whichever way; the field then shows what was written.
  const flowResult = await until(
    () => salesforce.records('MCP_Result__c').find((r) => r.Request_Id__c === requestId),
    timeoutMs,
  );
  const url = (await until(() => opportunity()?.Contract_URL__c as string | undefined, 2_000)) ?? undefined;
  record(
    'The broker consumed the event, called generate_contract and wrote Contract_URL__c back',
    typeof url === 'string' && url.includes('/documents/'),
    url ? `Opportunity after: Contract_URL__c ${url}` : 'Opportunity after: no Contract_URL__c',
  );
  if (url) {
    const document = await fetch(url).catch((err: Error) => err);
    record(
      'The contract link serves the document',
      !(document instanceof Error) && document.ok,
      document instanceof Error
        ? document.message
        : `GET → ${document.status} ${document.headers.get('content-type')}, ${(await document.text()).length} characters`,
    );
  }
  record(
    'MCP_Result__c upserted for the event',
    flowResult?.Status__c === 'succeeded',
    flowResult
      ? `${flowResult.Id}: Status__c ${flowResult.Status__c}, Tool__c ${flowResult.Tool__c}${
          flowResult.Error__c ? `, Error__c ${String(flowResult.Error__c)}` : ''
        }`
      : `none within ${timeoutMs / 1000} s`,
  );

  // The Apex side: a Queueable's callout to the async API, answered at once.
  const authorization = `Basic ${Buffer.from(`demo:${options.password}`).toString('base64')}`;
  const key = randomUUID();
  const submitted = await fetch(`${options.ingressUrl}/v1/tool-calls`, {
    method: 'POST',
    headers: { authorization, 'content-type': 'application/json', 'idempotency-key': key },
    body: JSON.stringify({
      tool: 'next_best_action',
      arguments: { customer_id: sample.customerId },
      writeBack: [{ type: 'salesforce-result', org: DEV_SALESFORCE_ORG, relatedRecordId: opportunityId }],
    }),
  });
  const accepted = (await submitted.json()) as { id?: string; statusUrl?: string; error?: { message: string } };
  // The Queueable polls the statusUrl it was answered: it must be the broker's real address.
  const statusUrl = accepted.statusUrl ?? '';
  record(
    'Apex-style POST /v1/tool-calls (next_best_action, salesforce-result write-back)',
    submitted.status === 202 &&
      Boolean(accepted.id) &&
      statusUrl === `${options.ingressUrl}/v1/tool-calls/${accepted.id}`,
    submitted.status === 202
      ? `202 Accepted, call ${accepted.id}, status ${statusUrl || '(none)'}`
      : `${submitted.status}: ${accepted.error?.message}`,
  );
  if (accepted.id && statusUrl) {
    const res = await fetch(`${statusUrl}?wait=60`, {
      headers: { authorization },
    });
    const call = (await res.json()) as ToolCallView;
    const actions = (call.result as { structuredContent?: { actions?: Array<{ action: string }> } } | undefined)
      ?.structuredContent?.actions;
    record(
      'The call succeeded',
      call.status === 'succeeded',
      `status ${call.status} after ${call.attempts} attempt(s)${actions?.[0] ? `; top action: ${actions[0].action}` : ''}`,
    );
    const apexResult = await until(
      () => salesforce.records('MCP_Result__c').find((r) => r.Request_Id__c === key),
      timeoutMs,
    );
    record(
      'MCP_Result__c upserted by Request_Id__c (the Idempotency-Key)',
      apexResult?.Status__c === 'succeeded' && apexResult.Related_Record_Id__c === opportunityId,
      apexResult
        ? `${apexResult.Id}: Status__c ${apexResult.Status__c}, Related_Record_Id__c ${apexResult.Related_Record_Id__c}, Result__c ${String(apexResult.Result__c).length} characters`
        : 'none',
    );
  }
  return steps;
}

/** Polls until `read` gives a value, or gives undefined after `timeoutMs`. */
async function until<T>(read: () => T | undefined, timeoutMs: number): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = read();
    if (value !== undefined && value !== null) return value;
    if (Date.now() > deadline) return undefined;
    await new Promise((r) => setTimeout(r, 100));
  }
}
