/**
 * The workspace's job runs, in the shapes of Jobs API 2.2 `runs/get` and `runs/get-output`. A job
 * run is a parent run with one task run per task (the multi-task format every run has since 2.1);
 * each task run has its own run id, and only task runs have output.
 */

export type ResultState = 'SUCCESS' | 'FAILED' | 'TIMEDOUT' | 'CANCELED';

export interface TaskSpec {
  taskKey: string;
  /** What the notebook passed to `dbutils.notebook.exit()`; cut to the output limit with `truncated`. */
  notebookResult?: string;
  /** Default SUCCESS. */
  resultState?: ResultState;
  /** For a failed task: the error `runs/get-output` reports. */
  error?: string;
}

export interface RunSpec {
  jobId?: number;
  jobName?: string;
  tasks: TaskSpec[];
  /** Default: FAILED when a task failed, else SUCCESS. */
  resultState?: ResultState;
}

export interface StoredTaskRun {
  runId: number;
  spec: TaskSpec;
}

export interface StoredRun {
  runId: number;
  jobId: number;
  jobName: string;
  resultState: ResultState;
  startTime: number;
  endTime: number;
  tasks: StoredTaskRun[];
}

/** Most task runs one `runs/get` page holds (Jobs API 2.2 pages arrays above 100 elements). */
export const TASKS_PER_PAGE = 100;

export class JobRuns {
  readonly #runs = new Map<number, StoredRun>();
  readonly #taskRuns = new Map<number, { parent: StoredRun; task: StoredTaskRun }>();
  #nextRunId = 700_000_000_000_001;
  #nextJobId = 900_000_000_001;
  readonly #now: () => Date;

  constructor(now: () => Date) {
    this.#now = now;
  }

  add(spec: RunSpec): StoredRun {
    if (spec.tasks.length === 0) throw new Error('a job run needs at least one task');
    const end = this.#now().getTime();
    const runId = this.#nextRunId++;
    const failed = spec.tasks.some((t) => (t.resultState ?? 'SUCCESS') !== 'SUCCESS');
    const run: StoredRun = {
      runId,
      jobId: spec.jobId ?? this.#nextJobId++,
      jobName: spec.jobName ?? `job-${runId}`,
      resultState: spec.resultState ?? (failed ? 'FAILED' : 'SUCCESS'),
      startTime: end - 60_000,
      endTime: end,
      tasks: spec.tasks.map((task) => ({ runId: this.#nextRunId++, spec: task })),
    };
    this.#runs.set(runId, run);
    for (const task of run.tasks) this.#taskRuns.set(task.runId, { parent: run, task });
    return run;
  }

  run(runId: number): StoredRun | undefined {
    return this.#runs.get(runId);
  }

  taskRun(runId: number): { parent: StoredRun; task: StoredTaskRun } | undefined {
    return this.#taskRuns.get(runId);
  }
}

const stateOf = (resultState: ResultState) => ({
  life_cycle_state: 'TERMINATED',
  result_state: resultState,
  state_message: resultState === 'SUCCESS' ? '' : `Task run ended ${resultState}.`,
  user_cancelled_or_timedout: resultState === 'CANCELED' || resultState === 'TIMEDOUT',
});

const statusOf = (resultState: ResultState) => ({
  state: 'TERMINATED',
  termination_details: {
    code: resultState === 'SUCCESS' ? 'SUCCESS' : resultState === 'FAILED' ? 'RUN_EXECUTION_ERROR' : resultState,
    type: resultState === 'SUCCESS' ? 'SUCCESS' : 'CLIENT_ERROR',
    message: '',
  },
});

export function taskRunView(origin: string, parent: StoredRun, task: StoredTaskRun) {
  const resultState = task.spec.resultState ?? 'SUCCESS';
  return {
    run_id: task.runId,
    task_key: task.spec.taskKey,
    notebook_task: { notebook_path: `/Workspace/jobs/${parent.jobName}/${task.spec.taskKey}`, source: 'WORKSPACE' },
    state: stateOf(resultState),
    status: statusOf(resultState),
    start_time: parent.startTime,
    end_time: parent.endTime,
    attempt_number: 0,
    run_page_url: `${origin}/?o=0#job/${parent.jobId}/run/${task.runId}`,
  };
}

/** `runs/get` of a parent run: one page of its task runs (`offset` from the page token). */
export function runView(origin: string, run: StoredRun, offset: number) {
  const page = run.tasks.slice(offset, offset + TASKS_PER_PAGE);
  const more = offset + TASKS_PER_PAGE < run.tasks.length;
  return {
    job_id: run.jobId,
    run_id: run.runId,
    number_in_job: run.runId,
    original_attempt_run_id: run.runId,
    creator_user_name: 'sandbox-service-principal',
    run_name: run.jobName,
    run_type: 'JOB_RUN',
    format: 'MULTI_TASK',
    trigger: 'PERIODIC',
    state: stateOf(run.resultState),
    status: statusOf(run.resultState),
    start_time: run.startTime,
    end_time: run.endTime,
    run_duration: run.endTime - run.startTime,
    run_page_url: `${origin}/?o=0#job/${run.jobId}/run/${run.runId}`,
    tasks: page.map((task) => taskRunView(origin, run, task)),
    ...(more ? { next_page_token: encodePageToken(run.runId, offset + TASKS_PER_PAGE) } : {}),
  };
}

/** `runs/get` of a task run id: the task run alone, with its parent's job. */
export function taskRunAsRunView(origin: string, parent: StoredRun, task: StoredTaskRun) {
  return {
    job_id: parent.jobId,
    parent_run_id: parent.runId,
    run_name: task.spec.taskKey,
    ...taskRunView(origin, parent, task),
  };
}

export function encodePageToken(runId: number, offset: number): string {
  return Buffer.from(JSON.stringify({ r: runId, o: offset })).toString('base64url');
}

export function decodePageToken(token: string, runId: number): number | undefined {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { r?: unknown; o?: unknown };
    return parsed.r === runId && typeof parsed.o === 'number' && Number.isInteger(parsed.o) && parsed.o > 0
      ? parsed.o
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * `runs/get-output` of a task run: the notebook's exit value cut to `limitBytes` (5 MB) with
 * `truncated`, or the task's error.
 */
export function outputView(origin: string, parent: StoredRun, task: StoredTaskRun, limitBytes: number) {
  const { notebookResult, error } = task.spec;
  const metadata = taskRunAsRunView(origin, parent, task);
  if (error !== undefined) return { metadata, error, error_trace: `Traceback (most recent call last):\n  ${error}` };
  if (notebookResult === undefined) return { metadata, notebook_output: {} };
  const bytes = Buffer.from(notebookResult, 'utf8');
  const truncated = bytes.length > limitBytes;
  return {
    metadata,
    notebook_output: {
      result: truncated ? bytes.subarray(0, limitBytes).toString('utf8') : notebookResult,
      truncated,
    },
  };
}
