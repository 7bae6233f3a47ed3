/** What the fault suite's report setup provides to the fault tests (`inject('faultResultsDir')`). */
declare module 'vitest' {
  export interface ProvidedContext {
    faultResultsDir: string;
  }
}

export {};
