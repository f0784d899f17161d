/**
 * What a notification destination of type "Webhook" sends when a job (or task) event happens: one
 * `POST` of a small JSON document to the configured URL, with HTTP Basic credentials when the
 * destination has them, and nothing else (no signature, no custom headers).
 */

import type { StoredRun } from './job-runs.ts';

export type JobEventType =
  | 'jobs.on_start'
  | 'jobs.on_success'
  | 'jobs.on_failure'
  | 'jobs.on_duration_warning_threshold_exceeded'
  | 'jobs.on_streaming_backlog_exceeded';

export interface NotificationOptions {
  /** For a task-level notification: the task whose event it is. */
  taskKey?: string;
}

export function notificationPayload(
  workspaceId: string,
  eventType: JobEventType,
  run: StoredRun,
  options: NotificationOptions = {},
): Record<string, unknown> {
  const task = options.taskKey === undefined ? undefined : run.tasks.find((t) => t.spec.taskKey === options.taskKey);
  if (options.taskKey !== undefined && !task) throw new Error(`run ${run.runId} has no task ${options.taskKey}`);
  return {
    event_type: eventType,
    workspace_id: workspaceId,
    run: task ? { run_id: task.runId, parent_run_id: run.runId } : { run_id: run.runId },
    job: { job_id: run.jobId, name: run.jobName },
    ...(task ? { task: { task_key: task.spec.taskKey } } : {}),
  };
}

export interface WebhookCredentials {
  username: string;
  password: string;
}

/** Posts a body (an object is sent as JSON; a string as it is) the way a destination does. */
export async function postWebhook(
  url: string,
  body: Record<string, unknown> | string,
  credentials?: WebhookCredentials,
): Promise<{ status: number; body: string }> {
  const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' };
  if (credentials) {
    headers.authorization = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
  }
  const response = await fetch(url, {
    method: 'POST',
    headers,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: response.status, body: await response.text() };
}
