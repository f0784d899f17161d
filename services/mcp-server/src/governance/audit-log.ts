import { randomUUID } from 'node:crypto';
import { type AuditRecord, fingerprint, type Identity } from '@mcp-broker/contracts';
import type { Store } from '@mcp-broker/store';
import type { McpServerMetrics } from '@mcp-broker/telemetry';
import type { Logger } from 'pino';

export interface AuditLogOptions {
  store: Store;
  logger: Logger;
  /** Retention in days, written as the record's Cosmos TTL; default 90. */
  retentionDays?: number;
  /** Per-agent, per-tool calls and latency, counted from the same entries as the audit. */
  metrics?: McpServerMetrics;
}

export type AuditEntry = Omit<AuditRecord, 'id' | 'subject' | 'clientAppId' | 'issuer' | 'at' | 'ttl'> & {
  identity: Identity;
};

/**
 * Writes one record per `tools/call`. Writes are started at once but not awaited by the call, so
 * audit latency never sits on the caller's path; `flush()` waits for every pending write (used on
 * shutdown and in tests). A failed write is logged with the request id, never silently dropped.
 */
export class AuditLog {
  readonly #options: AuditLogOptions;
  readonly #pending = new Set<Promise<void>>();

  constructor(options: AuditLogOptions) {
    this.#options = options;
  }

  record(entry: AuditEntry): void {
    const { identity, ...rest } = entry;
    this.#options.metrics?.toolCall({
      agent: identity.clientAppId ?? identity.subject,
      tool: entry.tool,
      status: entry.outcome,
      durationMs: entry.durationMs,
    });
    const record: AuditRecord = {
      id: randomUUID(),
      subject: identity.subject,
      ...(identity.clientAppId ? { clientAppId: identity.clientAppId } : {}),
      issuer: identity.issuer,
      ...rest,
      at: new Date().toISOString(),
      ttl: Math.round((this.#options.retentionDays ?? 90) * 86_400),
    };
    const write = this.#options.store
      .container('audit')
      .items.create(record)
      .then(
        () => undefined,
        (err: unknown) => {
          this.#options.logger.error({ err, requestId: record.requestId, tool: record.tool }, 'audit write failed');
        },
      );
    this.#pending.add(write);
    void write.finally(() => this.#pending.delete(write));
  }

  async flush(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all([...this.#pending]);
  }
}

/** sha256 of the arguments in canonical JSON (sorted keys), so equal arguments hash equally. */
export const hashArguments = fingerprint;
