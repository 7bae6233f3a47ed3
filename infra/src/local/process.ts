import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
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

let setprivWithDeathSignal: boolean | undefined;

/**
 * How a JVM is started. On Linux (util-linux's setpriv present) in a process group of its own,
 * so that a Ctrl-C (or any signal to this process's group) reaches only this process, which
 * stops the services first, while the broker still answers, and then the JVM: in the same group
 * the broker died with the Ctrl-C, and the services' Kafka clients spent half a minute retrying
 * it before they could stop. Out of the group it must not outlive this process, so setpriv sets
 * the kernel's parent-death signal (SIGTERM when this process dies, however it dies: kill -9
 * included) and execs the command, which keeps setpriv's pid. The parent is the thread that
 * spawns: this process's main thread. Elsewhere the command as is, in this process's group.
 */
function launch(command: string, args: string[]): { file: string; argv: string[]; detached: boolean } {
  setprivWithDeathSignal ??= /--pdeathsig/.test(spawnSync('setpriv', ['--help'], { encoding: 'utf8' }).stdout ?? '');
  return setprivWithDeathSignal
    ? { file: 'setpriv', argv: ['--pdeathsig', 'SIGTERM', command, ...args], detached: true }
    : { file: command, argv: args, detached: false };
}

/**
 * A long-running child (a JVM) owned by this process (see launch). Its pid is written to
 * `pidFile` so a later start can reap a process orphaned by a hard kill of its parent, and a
 * dead parent never leaves a broker holding the data directory's lock.
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
    const { file, argv, detached } = launch(command, args);
    const child = spawn(file, argv, { stdio: ['ignore', 'pipe', 'pipe'], env, detached });
    child.stdout?.pipe(out);
    child.stderr?.pipe(out);
    if (child.pid === undefined) throw new Error(`${this.name}: could not start ${command}`);
    writeFileSync(this.pidFile, String(child.pid));
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
