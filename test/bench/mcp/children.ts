import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildMessage, ParentCall } from './ipc.ts';

export interface BenchChild {
  name: string;
  pid: number;
  /** What the child announced when ready (URLs, counts). */
  info: Record<string, unknown>;
  /** Where the child's stdout and stderr go. */
  logFile: string;
  call<T = unknown>(op: string, timeoutMs?: number): Promise<T>;
  /** Asks the child to stop, then SIGKILLs it if it has not exited within the grace period. */
  stop(graceMs?: number): Promise<void>;
}

const live = new Set<ChildProcess>();

/** Last-resort cleanup: SIGKILL every child still running (used on exit paths that cannot await). */
export function killAllChildren(): void {
  for (const child of live) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  live.clear();
}

export interface SpawnOptions {
  name: string;
  /** Entry file, relative to this directory. */
  entry: string;
  env: Record<string, string>;
  logDir: string;
  /** Extra node flags (e.g. --cpu-prof). */
  nodeFlags?: string[];
  readyTimeoutMs?: number;
}

/** Starts `node <entry>` with an IPC channel and waits for its `ready` message. */
export async function spawnChild(options: SpawnOptions): Promise<BenchChild> {
  const logFile = join(options.logDir, `${options.name}.log`);
  const logFd = openSync(logFile, 'a');
  const child = spawn(process.execPath, [...(options.nodeFlags ?? []), join(import.meta.dirname, options.entry)], {
    env: { ...process.env, ...options.env },
    stdio: ['ignore', logFd, logFd, 'ipc'],
  });
  closeSync(logFd);
  live.add(child);
  child.once('exit', () => live.delete(child));

  let nextId = 1;
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  let exited: Error | undefined;
  const exitedPromise = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = new Error(`${options.name} exited (code ${code}, signal ${signal}); see ${logFile}`);
      for (const p of pending.values()) p.reject(exited);
      pending.clear();
      resolve();
    });
  });

  const info = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(new Error(`${options.name} not ready within ${options.readyTimeoutMs ?? 60_000} ms; see ${logFile}`)),
      options.readyTimeoutMs ?? 60_000,
    );
    child.on('message', (message: ChildMessage) => {
      if (message.type === 'ready') {
        clearTimeout(timer);
        resolve(message.info);
      } else if (message.type === 'reply') {
        const p = pending.get(message.id);
        if (!p) return;
        pending.delete(message.id);
        if (message.error !== undefined) p.reject(new Error(`${options.name}: ${message.error}`));
        else p.resolve(message.result);
      }
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('exit', () => {
      clearTimeout(timer);
      reject(exited);
    });
  }).catch((err: unknown) => {
    child.kill('SIGKILL');
    throw err;
  });

  return {
    name: options.name,
    pid: child.pid ?? -1,
    info,
    logFile,
    call<T>(op: string, timeoutMs = 30_000): Promise<T> {
      if (exited) return Promise.reject(exited);
      const id = nextId++;
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`${options.name}: ${op} timed out after ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(id, {
          resolve: (v) => {
            clearTimeout(timer);
            resolve(v as T);
          },
          reject: (e) => {
            clearTimeout(timer);
            reject(e);
          },
        });
        child.send({ type: 'call', id, op } satisfies ParentCall);
      });
    },
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      if (child.connected) child.send({ type: 'call', id: nextId++, op: 'stop' } satisfies ParentCall);
      else child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exitedPromise;
      clearTimeout(timer);
    },
  };
}
