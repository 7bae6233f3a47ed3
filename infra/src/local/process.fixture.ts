/**
 * A launcher in miniature for process.test.ts: starts `sleep` as a ManagedProcess (the JVM's
 * stand-in), prints its pid, and on SIGINT either stops it, saying whether the signal had
 * already ended it (`stop-on-sigint`), or exits without stopping it (`exit-without-stop`).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ManagedProcess } from './process.js';

const dir = mkdtempSync(path.join(tmpdir(), 'managed-'));
const child = new ManagedProcess('sleeper', path.join(dir, 'sleeper.pid'), path.join(dir, 'sleeper.log'));
child.start('sleep', ['60']);
const say = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);

process.once('SIGINT', () => {
  if (process.argv[2] === 'exit-without-stop') process.exit(0);
  // Long enough for a child the signal reached to have exited and been reaped.
  setTimeout(() => {
    const endedBySignal = child.exited;
    void child.stop().then(() => {
      say({ endedBySignal, stopped: true });
      process.exit(0);
    });
  }, 500);
});
say({ pid: child.pid });
