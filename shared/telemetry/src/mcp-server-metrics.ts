import type { Meter } from '@opentelemetry/api';
import { BoundedLabel } from './bounded-label.ts';

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

/**
 * The governed MCP server's per-agent, per-tool series (the dimensions of the reference guide's
 * dashboard query: agent id, tool, latency, status). Agents are the identities' client ids: the
 * first `maxAgents` seen keep their own series, later ones are `other`.
 */
export class McpServerMetrics {
  readonly #agents: BoundedLabel;
  readonly #tools: BoundedLabel;
  readonly #calls;
  readonly #duration;

  constructor(meter: Meter, known: { tools: Iterable<string>; maxAgents?: number }) {
    this.#agents = new BoundedLabel([], known.maxAgents ?? 100);
    this.#tools = new BoundedLabel(known.tools);
    this.#calls = meter.createCounter('mcp_server_tool_calls', {
      description: 'tools/call requests by agent, tool and status (the audit outcome).',
    });
    this.#duration = meter.createHistogram('mcp_server_tool_call_duration_seconds', {
      description: 'tools/call latency by agent, tool and status.',
      unit: 's',
      advice: { explicitBucketBoundaries: LATENCY_BUCKETS },
    });
  }

  /** One audited call. */
  toolCall(call: { agent: string; tool: string; status: string; durationMs: number }): void {
    const labels = { agent: this.#agents.value(call.agent), tool: this.#tools.value(call.tool), status: call.status };
    this.#calls.add(1, labels);
    this.#duration.record(call.durationMs / 1000, labels);
  }
}
