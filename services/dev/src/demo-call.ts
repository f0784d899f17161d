import { randomUUID } from 'node:crypto';
import type { ToolCallView } from '@mcp-broker/contracts';

export { readDemoPassword } from './dev-credentials.ts';

/**
 * The broker's main job in miniature: submit a tool call through the asynchronous API as the demo
 * caller, then wait for its result, exactly as an Apex client would over HTTP.
 */
export async function runDemoCall(options: {
  ingressUrl: string;
  password: string;
  tool: string;
  arguments: Record<string, unknown>;
}): Promise<{ submitStatus: number; call: ToolCallView }> {
  const authorization = `Basic ${Buffer.from(`demo:${options.password}`).toString('base64')}`;
  const submitted = await fetch(`${options.ingressUrl}/v1/tool-calls`, {
    method: 'POST',
    headers: { authorization, 'content-type': 'application/json', 'idempotency-key': randomUUID() },
    body: JSON.stringify({ tool: options.tool, arguments: options.arguments }),
  });
  const accepted = (await submitted.json()) as { id?: string; statusUrl?: string; error?: { message: string } };
  if (!accepted.id) throw new Error(`Demo call was refused (${submitted.status}): ${accepted.error?.message}`);
  // Followed through the statusUrl the broker answered, as an Apex client does.
  const statusUrl = accepted.statusUrl ?? `${options.ingressUrl}/v1/tool-calls/${accepted.id}`;
  const res = await fetch(`${statusUrl}?wait=60`, { headers: { authorization } });
  return { submitStatus: submitted.status, call: (await res.json()) as ToolCallView };
}

/** A few lines a person can read: status, timings and the head of the structured result. */
export function describeDemoCall(submitStatus: number, call: ToolCallView): string {
  const result = (call.result as { structuredContent?: unknown } | undefined)?.structuredContent;
  const json = JSON.stringify(result ?? call.error ?? null, null, 2).split('\n');
  const head = json.slice(0, 14).join('\n    ');
  return [
    `Demo: submitted ${call.tool} through the broker → ${submitStatus}, call ${call.id}`,
    `  status ${call.status} after ${call.attempts} attempt(s); created ${call.createdAt}, completed ${call.completedAt ?? '-'}`,
    `  result: ${head}${json.length > 14 ? '\n    …' : ''}`,
    '',
  ].join('\n');
}

/** The start-up demo call both launchers make: `query_customer_data` as the demo caller, described. */
export async function runStartupDemoCall(ingressUrl: string, password: string) {
  const { submitStatus, call } = await runDemoCall({
    ingressUrl,
    password,
    tool: 'query_customer_data',
    arguments: { customer_id: 'cus-000001' },
  });
  return { call, description: describeDemoCall(submitStatus, call) };
}
