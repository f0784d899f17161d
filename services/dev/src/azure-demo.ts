import { randomBytes, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { ServiceBusClient } from '@azure/service-bus';
import type { ToolCallView } from '@mcp-broker/contracts';
import {
  createSelfSignedCertificate,
  type SelfSignedCertificate,
  startEventGridTopicSandbox,
  trustCertificate,
} from '@mcp-broker/event-grid-sandbox';
import { ServiceBusPeer } from '@mcp-broker/service-bus-peer';
import { startDemoBroker } from './demo-broker.ts';
import {
  DEV_CALLBACK_SECRET_ENV,
  DEV_EVENT_GRID_KEY_ENV,
  DEV_EVENT_GRID_TOPIC,
  DEV_SERVICE_BUS_CONNECTION_ENV,
  DEV_SERVICE_BUS_QUEUE,
  DEV_UPSTREAM_SECRET_ENV,
  devBrokerConfig,
} from './dev-broker-config.ts';
import type { DemoStep } from './salesforce-demo.ts';
import type { DevStack } from './start-dev.ts';

export interface AzureDemoOptions {
  stack: Pick<DevStack, 'mcpUrl' | 'tokenEndpoint' | 'credentialsPath' | 'sampleOpportunity'>;
  redisUrl: string;
  print: (line: string) => void;
  /** How long to wait for the outcome, in ms. Default 60,000. */
  timeoutMs?: number;
}

/**
 * The Azure story: a system on Azure puts a tool-call request on a Service Bus queue (through the
 * real @azure/service-bus SDK, against the in-process AMQP peer); the broker's receiver takes it
 * as the `demo` caller, runs `next_best_action` through the governed MCP server, completes the
 * message, and publishes the outcome as a CloudEvent to an Event Grid custom topic (the https
 * sandbox, through the real @azure/eventgrid client). Runs beside the dev stack with the dev
 * configuration's `azure` sections on its own ingress, worker, store and Redis key prefix, so the
 * dev launcher's own configuration is untouched.
 */
export async function runAzureDemo(options: AzureDemoOptions): Promise<DemoStep[]> {
  const steps: DemoStep[] = [];
  const record = (step: string, ok: boolean, detail: string) => {
    steps.push({ step, ok, detail });
    options.print(`${ok ? '✔' : '✘'} ${step}\n    ${detail.split('\n').join('\n    ')}`);
    return ok;
  };
  const certificate = runtimeCertificate();
  if ('missing' in certificate) {
    options.print(
      `\nAzure: skipped. The Event Grid stand-in speaks https, as the service does, with a certificate made at run time by \`openssl\`, ${certificate.missing}; install it (Debian: apt-get install openssl) to see this story.`,
    );
    return steps;
  }
  // The real SDK clients verify the sandbox's certificate: trusted in this process only.
  trustCertificate(certificate.cert);
  const { stack } = options;
  const secrets = (JSON.parse(await readFile(stack.credentialsPath, 'utf8')) as { secrets: Record<string, string> })
    .secrets;
  const topicKey = randomBytes(32).toString('base64');
  const peer = await ServiceBusPeer.start({ queues: { [DEV_SERVICE_BUS_QUEUE]: { lockDurationMs: 30_000 } } });
  const topics = await startEventGridTopicSandbox({
    certificate,
    topics: [{ name: DEV_EVENT_GRID_TOPIC, inputSchema: 'CloudEventSchemaV1_0', access: { keys: [topicKey] } }],
  });
  const password = secrets['demo-caller-password'] ?? '';
  const broker = await devBrokerConfig({
    mcpUrl: stack.mcpUrl,
    tokenEndpoint: stack.tokenEndpoint,
    upstreamClientId: 'broker-demo',
    demoPassword: password,
    keyPrefix: `mcpb-azure-demo:${randomUUID().slice(0, 8)}:`,
    azure: { eventGridTopicEndpoint: topics.endpointFor(DEV_EVENT_GRID_TOPIC) },
  });
  const env = {
    [DEV_UPSTREAM_SECRET_ENV]: secrets['broker-demo'] ?? '',
    [DEV_CALLBACK_SECRET_ENV]: secrets['demo-callback-secret'] ?? '',
    [DEV_SERVICE_BUS_CONNECTION_ENV]: peer.connectionString(),
    [DEV_EVENT_GRID_KEY_ENV]: topicKey,
  };
  const demo = await startDemoBroker({ name: 'azure-demo', broker, redisUrl: options.redisUrl, env });
  const { ingress } = demo;
  const client = new ServiceBusClient(peer.connectionString());
  try {
    const customer = stack.sampleOpportunity.customerId;
    const subject = `customers/${customer}`;
    const message = {
      messageId: randomUUID(),
      contentType: 'application/json',
      body: {
        tool: 'next_best_action',
        arguments: { customer_id: customer },
        writeBack: [{ type: 'event-grid', topic: DEV_EVENT_GRID_TOPIC, subject }],
      },
    };
    options.print(
      `\nAzure: an order system asks for the next best action of ${customer} on Service Bus queue "${DEV_SERVICE_BUS_QUEUE}"; the answer is to go to Event Grid topic "${DEV_EVENT_GRID_TOPIC}".`,
    );
    const sender = client.createSender(DEV_SERVICE_BUS_QUEUE);
    await sender.sendMessages(message);
    await sender.close();
    record(
      `a request message arrives on Service Bus queue ${DEV_SERVICE_BUS_QUEUE} (@azure/service-bus, AMQP, SAS)`,
      true,
      `messageId ${message.messageId}  ${JSON.stringify(message.body)}`,
    );

    const deadline = Date.now() + (options.timeoutMs ?? 60_000);
    const published = () => topics.published(DEV_EVENT_GRID_TOPIC).find((p) => p.event.subject === subject);
    while (!published() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const event = published()?.event as
      | { id: string; type: string; source: string; subject: string; data: Record<string, unknown> }
      | undefined;
    const callId = typeof event?.data.callId === 'string' ? event.data.callId : '';
    const carried =
      event?.data.result !== undefined
        ? `result ${JSON.stringify(toolAnswer(event.data.result)).slice(0, 160)}…`
        : `resultRef ${JSON.stringify(event?.data.resultRef)}`;
    record(
      `its outcome is published to Event Grid topic ${DEV_EVENT_GRID_TOPIC} as a CloudEvent (@azure/eventgrid, https, key)`,
      event?.type === 'com.contoso.broker.toolcall.succeeded' && event.data.status === 'succeeded',
      event
        ? [
            `type ${event.type}`,
            `id ${event.id}  source ${event.source}  subject ${event.subject}  (${published()?.contentType})`,
            `data: call ${callId}, caller ${String(event.data.caller)}, tool ${String(event.data.tool)}, status ${String(event.data.status)}`,
            carried,
          ].join('\n')
        : `no event with subject ${subject} within the time allowed`,
    );

    const view = callId ? await deliveredView(ingress.url, callId, password, deadline) : undefined;
    const left = peer.entity(DEV_SERVICE_BUS_QUEUE).messages().length;
    const delivery = view?.deliveries[0];
    record(
      'the call record: from Service Bus, succeeded, delivered to Event Grid; the message completed',
      view?.status === 'succeeded' &&
        view.source?.kind === 'service-bus' &&
        delivery?.kind === 'event-grid' &&
        delivery.status === 'delivered' &&
        left === 0,
      view
        ? [
            `GET /v1/tool-calls/${callId} → ${view.status} (tool ${view.tool}, source ${view.source?.kind} ${view.source?.reference ?? ''})`,
            ...view.deliveries.map((d) => `delivery ${d.kind} ${d.status} after ${d.attempts} attempt(s)`),
            `messages left on ${DEV_SERVICE_BUS_QUEUE}: ${left}`,
          ].join('\n')
        : '(no call record)',
    );
  } finally {
    await client.close();
    await demo.close();
    await topics.close();
    await peer.close();
  }
  return steps;
}

/** What the tool answered: its structured content, else its text content as JSON when it is JSON. */
function toolAnswer(result: unknown): unknown {
  const call = result as { structuredContent?: unknown; content?: { type: string; text?: string }[] };
  if (call?.structuredContent !== undefined) return call.structuredContent;
  const text = call?.content?.find((c) => c.type === 'text')?.text;
  if (text === undefined) return result;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** A certificate for the https sandbox, or why `openssl` could not make one. */
function runtimeCertificate(): SelfSignedCertificate | { missing: string } {
  try {
    return createSelfSignedCertificate();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return {
      missing: code === 'ENOENT' ? 'which is not on PATH' : `which failed (${(err as Error).message.split('\n')[0]})`,
    };
  }
}

/** The call's record once its write-back settled (the publish is recorded just after it returns). */
async function deliveredView(
  ingressUrl: string,
  callId: string,
  password: string,
  deadline: number,
): Promise<ToolCallView | undefined> {
  const authorization = `Basic ${Buffer.from(`demo:${password}`).toString('base64')}`;
  let view: ToolCallView | undefined;
  do {
    const res = await fetch(`${ingressUrl}/v1/tool-calls/${callId}`, { headers: { authorization } });
    view = res.ok ? ((await res.json()) as ToolCallView) : undefined;
    if (view?.deliveries.every((d) => d.status === 'delivered' || d.status === 'failed')) return view;
    await new Promise((r) => setTimeout(r, 100));
  } while (Date.now() < deadline);
  return view;
}
