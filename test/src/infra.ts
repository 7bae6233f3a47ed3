/** What the global setup provides to integration tests (`inject('infra')`). */
export interface TestInfra {
  brokers: string[];
  registryUrl: string;
  /** Set when the run uses a ClickHouse server (Docker); else each test opens its own chDB. */
  clickhouseUrl?: string;
  /** A directory private to this run; tests make their own subdirectories. */
  runDir: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    infra: TestInfra;
  }
}
