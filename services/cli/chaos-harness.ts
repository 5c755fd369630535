/**
 * Test harness for chaos and security tests: real `encourage coordinator` / `encourage worker`
 * processes on loopback, with live access to their JSON logs, so tests can wait for a state
 * ("new ring", an epoch record) before they kill, stop or restart a process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CLI_MAIN, lastJsonLine } from './cli-harness.js';
import { freePort } from '../core/net/free-port.js';
export { freePort };

export interface Proc {
  readonly child: ChildProcess;
  /** Exit code/signal and output, once the process has exited. */
  readonly done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
  /** Parsed JSON log lines so far. */
  readonly logs: Record<string, unknown>[];
  stderr(): string;
  /** Resolve with the first log line (past or future) matching `pred`; reject after `timeoutMs`. */
  waitForLog(pred: (line: Record<string, unknown>) => boolean, timeoutMs: number, what?: string): Promise<Record<string, unknown>>;
}

/** Start the CLI with `args` (and extra env), collecting its logs; `wrapper` runs it through e.g. `ip netns exec <ns>`. */
export function startProc(args: readonly string[], env: NodeJS.ProcessEnv = {}, wrapper: readonly string[] = []): Proc {
  const [command, ...argv] = [...wrapper, process.execPath, CLI_MAIN, ...args] as [string, ...string[]];
  const child = spawn(command, argv, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let partial = '';
  const logs: Record<string, unknown>[] = [];
  const watchers = new Set<() => void>();
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => {
    const text = d.toString();
    stderr += text;
    const lines = (partial + text).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // not a log line
      }
    }
    for (const w of [...watchers]) w();
  });
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      resolve({ code, signal, stdout, stderr });
      for (const w of [...watchers]) w();
    });
  });
  return {
    child, done, logs,
    stderr: () => stderr,
    waitForLog(pred, timeoutMs, what = 'log line') {
      return new Promise((resolve, reject) => {
        const check = () => {
          const hit = logs.find(pred);
          if (hit !== undefined) {
            cleanup();
            resolve(hit);
          } else if (child.exitCode !== null || child.signalCode !== null) {
            cleanup();
            reject(new Error(`process exited before ${what}:\n${stderr.slice(-3000)}`));
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`no ${what} within ${timeoutMs} ms:\n${stderr.slice(-3000)}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          watchers.delete(check);
        };
        watchers.add(check);
        check();
      });
    },
  };
}

/** Fast failure detection for tests: heartbeats every 250 ms, lost after 4 s (a loaded 2-core CI machine needs the slack). */
export const FAST_FAILURE_FLAGS = ['--heartbeat-interval-ms', '250', '--heartbeat-timeout-ms', '4000', '--rendezvous-grace-ms', '500', '--rendezvous-timeout-ms', '20000'];

/** A small run: 3 epochs of 384 synthetic images on the BatchNorm-free CNN. */
export function runFlags(dir: string, experiment: string, extra: readonly string[] = []): string[] {
  return [
    '--data', 'synthetic', '--synthetic-train', '384', '--synthetic-test', '128', '--model', 'cnn-nobn', '--epochs', '3', '--batch-size', '16',
    '--seed', '5', '--lr', '0.05', '--loss', 'el', '--allreduce-timeout-ms', '5000', '--experiment', experiment, '--run-dir', dir, '--log-level', 'info', ...extra,
  ];
}

/**
 * Flags (given after `runFlags`, so they win) that make the small run one that learns within
 * seconds, for tests that judge a disturbed run by what it learned: the BatchNorm CNN on 768
 * synthetic images, batch 16 per worker, lr 0.1. Undisturbed with 3 workers, 3 epochs (16 steps
 * each) reach test accuracy 0.57 and test cross-entropy 1.10 — chance is 0.10 and ln 10 = 2.30 —
 * where the `runFlags` set-up stays at chance.
 */
export const LEARNING_RUN_FLAGS = ['--model', 'cnn-small', '--synthetic-train', '768', '--synthetic-test', '256', '--lr', '0.1'] as const;
/** Test accuracy an undisturbed `LEARNING_RUN_FLAGS` run must reach (4× chance). */
export const LEARNED_ACCURACY_FLOOR = 0.4;

/** `encourage coordinator` on 127.0.0.1:port (with extra flags and environment). */
export function startCoordinator(port: number, dir: string, experiment: string, extra: readonly string[] = [], env: NodeJS.ProcessEnv = {}): Proc {
  return startProc(['coordinator', '--host', '127.0.0.1', '--port', String(port), ...FAST_FAILURE_FLAGS, ...runFlags(dir, experiment), ...extra], env);
}

/** `encourage worker` (one process) of pod `pod`. */
export function startWorker(port: number, pod: string, extra: readonly string[] = [], env: NodeJS.ProcessEnv = {}): Proc {
  return startProc(['worker', '--coordinator', `127.0.0.1:${port}`, '--pod', pod, '--local-procs', '1', '--log-level', 'info', ...extra], env);
}

/** Step records in a run's metrics.jsonl so far. */
export async function stepsRecorded(dir: string): Promise<number> {
  try {
    const text = await readFile(join(dir, 'metrics.jsonl'), 'utf8');
    return text.split('\n').filter((l) => l.includes('"type":"step"')).length;
  } catch {
    return 0;
  }
}

/** Resolve once the coordinator of `proc` has committed `steps` steps (from its log of merged steps). */
export async function waitForSteps(dir: string, steps: number, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while ((await stepsRecorded(dir)) < steps) {
    if (Date.now() > until) throw new Error(`fewer than ${steps} steps recorded in ${dir} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The JSON summary a finished coordinator printed. */
export function summaryOf<T = Record<string, unknown>>(result: { stdout: string; stderr: string }): T {
  try {
    return lastJsonLine<T>(result.stdout);
  } catch (err) {
    throw new Error(`no summary on stdout:\n${result.stderr.slice(-3000)}`, { cause: err });
  }
}

/** Bound of one chaos test: a regression that hangs a run fails the test instead of stalling CI. */
export const CHAOS_TEST_TIMEOUT_MS = 240_000;
