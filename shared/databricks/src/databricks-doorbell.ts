import { DeliveryError } from '@mcp-broker/broker';
import type { CallerConfig, DatabricksWebhookSourceConfig } from '@mcp-broker/broker-config';
import {
  type DatabricksDoorbellJob,
  type ToolCallRequest,
  type WriteBackTarget,
  writeBackTargetSchema,
} from '@mcp-broker/contracts';
import { type DatabricksLogger, silentLogger } from './databricks-logger.ts';
import type { DatabricksWorkspaces } from './databricks-workspaces.ts';
import { getRun, getRunOutput, type RunOutput, type TaskRun } from './jobs-api.ts';
import type { ToolCallAcceptor } from './tool-call-acceptor.ts';
import { doorbellKey, type IndexedRoute, matchingRoutes, type PlannedCall, planCalls } from './webhook-routing.ts';

export interface DoorbellProcessorOptions {
  sources: readonly DatabricksWebhookSourceConfig[];
  callers: readonly CallerConfig[];
  workspaces: DatabricksWorkspaces;
  intake: ToolCallAcceptor;
  logger?: DatabricksLogger;
}

/** What one doorbell came to. */
export interface DoorbellOutcome {
  skipped?: string;
  queued: number;
  duplicates: number;
  refused: number;
}

/** A source's routes with their write-back targets parsed once, at start. */
interface PreparedSource {
  config: DatabricksWebhookSourceConfig;
  caller: CallerConfig;
  writeBack: WriteBackTarget[][];
}

/**
 * Checks every route's write-back targets against the target schemas; a bad one stops the start
 * naming `databricks.webhookSources[i].routes[j].writeBack[k].<field>`.
 */
export function prepareSources(
  sources: readonly DatabricksWebhookSourceConfig[],
  callers: readonly CallerConfig[],
): Map<string, PreparedSource> {
  const problems: string[] = [];
  const prepared = new Map<string, PreparedSource>();
  sources.forEach((config, i) => {
    const caller = callers.find((c) => c.id === config.caller);
    if (!caller) {
      problems.push(`databricks.webhookSources.${i}.caller: unknown caller "${config.caller}"`);
      return;
    }
    const writeBack = config.routes.map((route, j) =>
      route.writeBack.flatMap((target, k) => {
        const parsed = writeBackTargetSchema.safeParse(target);
        if (parsed.success) return [parsed.data];
        for (const issue of parsed.error.issues) {
          problems.push(
            `databricks.webhookSources.${i}.routes.${j}.writeBack.${[k, ...issue.path].join('.')}: ${issue.message}`,
          );
        }
        return [];
      }),
    );
    prepared.set(config.id, { config, caller, writeBack });
  });
  if (problems.length > 0) throw new Error(`The databricks configuration is invalid:\n  - ${problems.join('\n  - ')}`);
  return prepared;
}

/**
 * The worker's half of a webhook: the doorbell rang, so fetch what it is about from the Jobs API
 * with the broker's own credentials (the webhook body is only trusted to say which run), plan each
 * matching route's calls, and hand each to the core's `accept()` on the source's caller. Keys
 * derive from (workspace, run, event type[, task]), so a redelivered webhook, or this job run
 * again after a crash, makes no second call.
 *
 * A transient Jobs API failure (429, 5xx, timeouts) is thrown, and the job is tried again with
 * backoff (after the Retry-After); a final one, or a transient one on the last attempt, is
 * recorded through `accept()` as a refused call per route, so it is written back as the failure.
 */
export class DatabricksDoorbellProcessor {
  readonly #o: DoorbellProcessorOptions;
  readonly #sources: Map<string, PreparedSource>;
  readonly #logger: DatabricksLogger;

  constructor(options: DoorbellProcessorOptions) {
    this.#o = options;
    this.#sources = prepareSources(options.sources, options.callers);
    this.#logger = options.logger ?? silentLogger;
  }

  async process(
    job: DatabricksDoorbellJob,
    options: { final: boolean; signal?: AbortSignal },
  ): Promise<DoorbellOutcome> {
    const outcome: DoorbellOutcome = { queued: 0, duplicates: 0, refused: 0 };
    const { webhook } = job;
    const key = doorbellKey(webhook);
    const source = this.#sources.get(job.source);
    if (!source) {
      this.#logger.warn({ source: job.source, key }, 'databricks doorbell for a source no longer configured: skipped');
      return { ...outcome, skipped: 'unknown source' };
    }
    const routes = matchingRoutes(source.config, webhook);
    if (routes.length === 0) return { ...outcome, skipped: 'no route matches' };
    const workspace = this.#o.workspaces.get(source.config.workspace);
    const runId = webhook.run.parent_run_id ?? webhook.run.run_id;

    const accept = async (indexed: IndexedRoute, planned: PlannedCall) => {
      const request: ToolCallRequest = {
        tool: indexed.route.tool,
        arguments: planned.kind === 'call' ? planned.arguments : {},
        writeBack: source.writeBack[indexed.index] ?? [],
        idempotencyKey: planned.idempotencyKey,
        source: { kind: 'databricks', reference: planned.reference },
        correlation: { requestId: job.requestId, ...(job.traceparent ? { traceparent: job.traceparent } : {}) },
      };
      const acceptance = await this.#o.intake.accept(
        source.caller,
        request,
        planned.kind === 'refusal' ? { refusal: { code: planned.code, message: planned.message } } : undefined,
      );
      if (acceptance.outcome === 'queued') outcome.queued++;
      else if (acceptance.outcome === 'duplicate') outcome.duplicates++;
      else if (acceptance.outcome === 'refused') {
        outcome.refused++;
        this.#logger.warn(
          {
            source: job.source,
            key: planned.idempotencyKey,
            code: acceptance.reason.code,
            reason: acceptance.reason.message,
          },
          'databricks webhook call refused',
        );
      }
    };
    const refuseAll = async (error: DeliveryError) => {
      const reference = `${webhook.workspace_id}/${runId}/${webhook.event_type}`;
      for (const indexed of routes) {
        await accept(indexed, {
          kind: 'refusal',
          idempotencyKey: `${key}:r${indexed.index}`,
          reference,
          code: error.code,
          message: error.message,
        });
      }
    };
    // Transient trouble is worth another attempt, unless this was the last.
    const giveUp = (error: unknown): DeliveryError => {
      const failure =
        error instanceof DeliveryError
          ? error
          : new DeliveryError('transient', 'DATABRICKS_UNAVAILABLE', `Unexpected failure: ${(error as Error).message}`);
      if (failure.kind === 'transient' && !options.final) throw failure;
      return failure;
    };

    let run: Awaited<ReturnType<typeof getRun>>;
    try {
      run = await getRun(workspace, runId, options.signal);
    } catch (error) {
      const failure = giveUp(error);
      this.#logger.warn(
        { source: job.source, key, code: failure.code, reason: failure.message },
        'databricks run could not be fetched',
      );
      await refuseAll(failure);
      return outcome;
    }
    if (run.job_id !== undefined && String(run.job_id) !== webhook.job.job_id) {
      await refuseAll(
        new DeliveryError(
          'permanent',
          'DATABRICKS_RUN_MISMATCH',
          `Run ${runId} belongs to job ${run.job_id}, not to job ${webhook.job.job_id} the webhook named.`,
        ),
      );
      return outcome;
    }

    const outputs = new Map<number, Promise<RunOutput>>();
    const outputOf = (task: TaskRun) => {
      let output = outputs.get(task.run_id);
      if (!output) {
        output = getRunOutput(workspace, task.run_id, options.signal);
        outputs.set(task.run_id, output);
      }
      return output;
    };
    for (const indexed of routes) {
      let planned: PlannedCall[];
      try {
        planned = await planCalls(indexed, { webhook, run, outputOf });
      } catch (error) {
        const failure = giveUp(error);
        await accept(indexed, {
          kind: 'refusal',
          idempotencyKey: `${key}:r${indexed.index}`,
          reference: `${webhook.workspace_id}/${runId}/${webhook.event_type}`,
          code: failure.code,
          message: failure.message,
        });
        continue;
      }
      for (const call of planned) await accept(indexed, call);
    }
    this.#logger.info({ source: job.source, key, ...outcome }, 'databricks webhook handled');
    return outcome;
  }
}
