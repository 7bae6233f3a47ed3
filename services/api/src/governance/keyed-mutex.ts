/**
 * Serializes work per key in this process: each key's tasks run one after another, in arrival
 * order; different keys run in parallel. Reservation decisions use it per (tenant, envelope), so
 * parallel callers cannot all see the same headroom. With several api instances it is not
 * enough: reservations need a single owner per envelope (one instance, or the owner of a Kafka
 * partition keyed by envelope).
 */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(task, task);
    const tail = result.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }
}
