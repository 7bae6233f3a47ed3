import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const fixture = fileURLToPath(new URL('./process.fixture.ts', import.meta.url));

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Runs the fixture in a process group of its own (as a terminal runs `npm start`), collecting its JSON lines. */
function runFixture(mode: string) {
  const launcher = spawn(process.execPath, ['--import', 'tsx', fixture, mode], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  const lines: Record<string, unknown>[] = [];
  const first = new Promise<Record<string, unknown>>((resolve) => {
    createInterface({ input: launcher.stdout }).on('line', (line) => {
      lines.push(JSON.parse(line) as Record<string, unknown>);
      if (lines.length === 1) resolve(lines[0]!);
    });
  });
  const exited = new Promise<void>((resolve) => launcher.once('exit', () => resolve()));
  return { launcher, lines, first, exited };
}

async function until(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  return condition();
}

describe('ManagedProcess (the local launchers’ JVMs)', () => {
  it('is not reached by a Ctrl-C to the launcher’s process group: the launcher stops it', async () => {
    const run = runFixture('stop-on-sigint');
    const { pid } = (await run.first) as { pid: number };
    expect(isAlive(pid)).toBe(true);
    process.kill(-run.launcher.pid!, 'SIGINT'); // what a terminal does on Ctrl-C
    await run.exited;
    expect(run.lines.at(-1)).toEqual({ endedBySignal: false, stopped: true });
    expect(isAlive(pid)).toBe(false);
  }, 30_000);

  it('is sent SIGTERM when the launcher exits without stopping it', async () => {
    const run = runFixture('exit-without-stop');
    const { pid } = (await run.first) as { pid: number };
    await run.exited;
    expect(await until(() => !isAlive(pid), 10_000)).toBe(true);
  }, 30_000);
});
