import { z } from 'zod';

/**
 * Parses `process.env` (or a given record) with a zod schema once at start-up. A bad value
 * stops start-up with an error naming every offending variable.
 */
export function parseEnv<S extends z.ZodType>(schema: S, env: Record<string, string | undefined> = process.env): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `  ${issue.path.join('.') || '(env)'}: ${issue.message}`);
  throw new ConfigError(`Invalid configuration:\n${problems.join('\n')}`);
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Booleans in the environment are spelled "true" | "false", nothing else. */
export const envBoolean = z.enum(['true', 'false']).transform((v) => v === 'true');

/** A comma-separated list, trimmed, without empty entries. */
export const envList = z
  .string()
  .transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean))
  .pipe(z.array(z.string()).min(1));

export const envPort = z.coerce.number().int().min(0).max(65_535);
