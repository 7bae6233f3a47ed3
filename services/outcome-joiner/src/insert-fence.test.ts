import { describe, expect, it } from 'vitest';
import { InsertFence } from './insert-fence.js';

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

describe('InsertFence', () => {
  it('a fence waits for every insert in flight, and inserts begun meanwhile wait for the fence', async () => {
    const fence = new InsertFence();
    const log: string[] = [];
    let finishFirst!: () => void;
    const first = fence.insert(async () => {
      log.push('insert 1 starts');
      await new Promise<void>((resolve) => (finishFirst = resolve));
      log.push('insert 1 commits');
    });
    const fenced = fence.fence(async () => void log.push('watermark fixed'));
    await tick();
    const second = fence.insert(async () => void log.push('insert 2 starts'));
    await tick();
    expect(log).toEqual(['insert 1 starts']);
    finishFirst();
    await Promise.all([first, fenced, second]);
    expect(log).toEqual(['insert 1 starts', 'insert 1 commits', 'watermark fixed', 'insert 2 starts']);
  });

  it('inserts run side by side when no fence is up, and a failed insert still releases a fence', async () => {
    const fence = new InsertFence();
    let running = 0;
    let most = 0;
    const insert = () => fence.insert(async () => {
      most = Math.max(most, ++running);
      await tick();
      running--;
    });
    await Promise.all([insert(), insert(), insert()]);
    expect(most).toBe(3);
    const failed = fence.insert(async () => {
      await tick();
      throw new Error('refused');
    });
    const fenced = fence.fence(async () => 'fixed');
    await expect(failed).rejects.toThrow('refused');
    await expect(fenced).resolves.toBe('fixed');
  });
});
