import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const fixture = fileURLToPath(new URL('./process.fixture.ts', import.meta.url));

/** Running: it exists and is not a zombie (a dead child nobody has reaped yet). */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // /proc/<pid>/stat: "pid (command) state ..."
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return process.platform !== 'linux';
  }
}

const leftovers: number[] = [];
afterEach(() => {
  for (const pid of leftovers.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone, as it should be
    }
  }
});

/** Runs the fixture in a process group of its own (as a terminal runs `npm start`), collecting its JSON lines. */
async function runFixture(mode: string) {
  const launcher = spawn(process.execPath, ['--import', 'tsx', fixture, mode], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  const lines: Record<string, unknown>[] = [];
  const exited = new Promise<void>((resolve) => launcher.once('exit', () => resolve()));
  const first = await new Promise<Record<string, unknown>>((resolve) => {
    createInterface({ input: launcher.stdout }).on('line', (line) => {
      lines.push(JSON.parse(line) as Record<string, unknown>);
      if (lines.length === 1) resolve(lines[0]!);
    });
  });
  const child = first.pid as number;
  leftovers.push(launcher.pid!, child);
  expect(isRunning(child)).toBe(true);
  return { launcher, child, lines, exited };
}

async function until(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  return condition();
}

// On Linux a managed child runs in its own process group and dies with its parent (process.ts, launch).
describe.runIf(process.platform === 'linux')('ManagedProcess (the local launchers’ JVMs)', () => {
  it('is not reached by a Ctrl-C to the launcher’s process group: the launcher stops it', async () => {
    const run = await runFixture('stop-on-sigint');
    process.kill(-run.launcher.pid!, 'SIGINT'); // what a terminal does on Ctrl-C
    await run.exited;
    expect(run.lines.at(-1)).toEqual({ endedBySignal: false, stopped: true });
    expect(isRunning(run.child)).toBe(false);
  }, 30_000);

  it('is sent SIGTERM when the launcher exits without stopping it', async () => {
    const run = await runFixture('exit-without-stop');
    process.kill(run.launcher.pid!, 'SIGINT');
    await run.exited;
    expect(await until(() => !isRunning(run.child), 10_000)).toBe(true);
  }, 30_000);

  it('is sent SIGTERM when the launcher is killed (-9, or a signal it does not handle)', async () => {
    for (const signal of ['SIGKILL', 'SIGHUP'] as const) {
      const run = await runFixture('stop-on-sigint');
      process.kill(run.launcher.pid!, signal);
      await run.exited;
      expect(await until(() => !isRunning(run.child), 10_000), signal).toBe(true);
    }
  }, 60_000);
});
