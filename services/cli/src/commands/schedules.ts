import { randomUUID } from 'node:crypto';
import { batchRunAcceptedSchema, batchRunViewSchema, scheduleListSchema } from '@mcp-broker/contracts';
import type { BrokerApi } from '../broker-api.ts';
import { type Printer, table } from '../printer.ts';

/** The caller's batch schedules (GET /v1/schedules). */
export async function schedulesList(api: BrokerApi, printer: Printer): Promise<number> {
  const list = await api.request('GET', '/v1/schedules', scheduleListSchema);
  printer.result(list, (l) =>
    l.items.length === 0
      ? ['No schedules.']
      : table(
          ['id', 'enabled', 'when', 'tool', 'next run', 'last run'],
          l.items.map((s) => [
            s.id,
            s.enabled ? 'yes' : 'no',
            s.cron ? `${s.cron} ${s.timeZone}` : `every ${s.everySeconds} s`,
            s.tool,
            s.nextRunAt ?? '-',
            s.lastRun ? `${s.lastRun.id} ${s.lastRun.status}` : '-',
          ]),
        ),
  );
  return 0;
}

/** Starts a run now (POST /v1/schedules/{id}/runs); the key makes a retried command one run. */
export async function scheduleRun(
  api: BrokerApi,
  printer: Printer,
  id: string,
  idempotencyKey: string | undefined,
): Promise<number> {
  const run = await api.request('POST', `/v1/schedules/${encodeURIComponent(id)}/runs`, batchRunAcceptedSchema, {
    body: { idempotencyKey: idempotencyKey ?? randomUUID() },
  });
  printer.result(run, (r) => [`run ${r.id} of ${id}: ${r.status} (${r.statusUrl})`]);
  return 0;
}

/** A batch run's progress and counts (GET /v1/batch-runs/{id}), or cancels it. */
export async function batchRun(api: BrokerApi, printer: Printer, id: string, cancel: boolean): Promise<number> {
  const path = `/v1/batch-runs/${encodeURIComponent(id)}${cancel ? '/cancel' : ''}`;
  const run = await api.request(cancel ? 'POST' : 'GET', path, batchRunViewSchema);
  printer.result(run, (r) => [
    `${r.id} (schedule ${r.schedule}): ${r.status}, ${r.phase}, ${Math.round(r.progress * 100)} %`,
    `  counts ${JSON.stringify(r.counts)}`,
    ...r.errorsByCode.map((e) => `  ${e.code}: ${e.count}`),
    ...(r.error ? [`  error ${r.error.code}: ${r.error.message}`] : []),
  ]);
  return 0;
}
