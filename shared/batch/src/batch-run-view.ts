import { type BatchRunRecord, type BatchRunView, finalBatchRunStatuses } from '@mcp-broker/contracts';

/** The API's view of a run: counts, progress while it runs, the summary once it ends. */
export function toBatchRunView(run: BatchRunRecord, publicUrl: string): BatchRunView {
  const { counts } = run;
  const done = counts.succeeded + counts.failed + counts.skipped;
  const final = finalBatchRunStatuses.includes(run.status);
  const durationMs =
    run.startedAt && run.completedAt ? Date.parse(run.completedAt) - Date.parse(run.startedAt) : undefined;
  return {
    id: run.id,
    schedule: run.schedule,
    status: run.status,
    phase: run.phase,
    startedBy: run.startedBy,
    counts,
    progress: final ? 1 : counts.selected > 0 ? Math.min(1, done / counts.selected) : 0,
    errorsByCode: Object.entries(run.errorsByCode)
      .map(([code, count]) => ({ code, count }))
      .sort((a, b) => b.count - a.count || a.code.localeCompare(b.code)),
    writeBackFailures: run.writeBackFailures,
    ...(run.error ? { error: run.error } : {}),
    createdAt: run.createdAt,
    ...(run.startedAt ? { startedAt: run.startedAt } : {}),
    ...(run.completedAt ? { completedAt: run.completedAt } : {}),
    ...(durationMs === undefined ? {} : { durationMs }),
    statusUrl: `${publicUrl}/v1/batch-runs/${run.id}`,
  };
}
