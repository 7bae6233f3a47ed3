import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';

export type Log = (message: string) => void;

/** Runs a command to completion with its output shown (used for the visible jar download). */
export function runVisible(command: string, args: string[], log: Log): Promise<void> {
  return new Promise((resolve, reject) => {
    log(`$ ${command} ${args.join(' ')}`);
    const child = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${command} exited with code ${code}`)),
    );
  });
}

/** Runs a command to completion, capturing output; rejects with the output on failure. */
export function runQuiet(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(output) : reject(new Error(`${command} exited with ${code}: ${output}`)),
    );
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Children of ManagedProcess still running: sent SIGTERM if this process exits without stopping them. */
const running = new Set<number>();
let exitHookInstalled = false;

function terminateOnExit(pid: number): void {
  running.add(pid);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // An exit hook runs synchronously: the signal is sent, the JVM's own shutdown hooks do the rest.
  process.once('exit', () => {
    for (const child of running) {
      try {
        process.kill(child, 'SIGTERM');
      } catch {
        // already gone
      }
    }
  });
}

/**
 * A long-running child (a JVM) owned by this process. Its pid is written to `pidFile` so a
 * later start can reap a process orphaned by a hard kill of its parent, and a dead parent
 * never leaves a broker holding the data directory's lock.
 *
 * The child runs in a process group of its own, so a Ctrl-C (or any signal to this process's
 * group) reaches only this process: it stops the services first, while the broker still
 * answers, and then the child. In the same group the broker died with the Ctrl-C, and the
 * services' Kafka clients spent half a minute retrying it before they could stop. If this
 * process exits without stopping the child, an exit hook sends it SIGTERM.
 */
export class ManagedProcess {
  private child: ChildProcess | undefined;

  constructor(
    private readonly name: string,
    private readonly pidFile: string,
    private readonly logFile: string,
  ) {}

  async reapOrphan(log: Log): Promise<void> {
    if (!existsSync(this.pidFile)) return;
    const pid = Number(readFileSync(this.pidFile, 'utf8'));
    if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) {
      log(`${this.name}: stopping orphaned process ${pid} from an earlier run`);
      await terminate(pid);
    }
    rmSync(this.pidFile, { force: true });
  }

  start(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): void {
    const out = createWriteStream(this.logFile, { flags: 'a' });
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env, detached: true });
    child.stdout?.pipe(out);
    child.stderr?.pipe(out);
    if (child.pid === undefined) throw new Error(`${this.name}: could not start ${command}`);
    const pid = child.pid;
    writeFileSync(this.pidFile, String(pid));
    terminateOnExit(pid);
    child.once('exit', () => running.delete(pid));
    this.child = child;
  }

  /** The child's pid while it runs. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  get exited(): boolean {
    return this.child === undefined || this.child.exitCode !== null || this.child.signalCode !== null;
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child?.pid !== undefined && child.exitCode === null) await terminate(child.pid);
    rmSync(this.pidFile, { force: true });
  }
}

/** SIGTERM (a JVM runs its shutdown hooks: Kafka flushes and closes cleanly), SIGKILL after 20 s. */
async function terminate(pid: number, graceMs = 20_000): Promise<void> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (isAlive(pid)) process.kill(pid, 'SIGKILL');
}

/** Polls `probe` until it resolves, or throws with the last error after `timeoutMs`. */
export async function waitFor(
  what: string,
  probe: () => Promise<unknown>,
  timeoutMs: number,
  isDead: () => boolean = () => false,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (isDead()) throw new Error(`${what}: process exited during start-up`);
    try {
      await probe();
      return;
    } catch (error) {
      lastError = error;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  throw new Error(`${what} not ready after ${timeoutMs} ms: ${String(lastError)}`);
}
