import type { z } from 'zod';

/** One problem with a payload; `path` names the field, e.g. `prompt.excerpt` or `run_ids[2]`. */
export interface FieldError {
  path: string;
  message: string;
}

export type ValidationResult<T> = { ok: true; event: T } | { ok: false; errors: FieldError[] };

export function validateWith<T>(schema: z.ZodType<T>, raw: unknown): ValidationResult<T> {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return { ok: true, event: parsed.data };
  return { ok: false, errors: parsed.error.issues.flatMap(toFieldErrors) };
}

function toFieldErrors(issue: z.core.$ZodIssue): FieldError[] {
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((key) => ({ path: formatPath([...issue.path, key]), message: 'is not a known field' }));
    case 'invalid_key':
      return [{ path: formatPath(issue.path), message: `key ${issue.issues[0]?.message ?? 'is invalid'}` }];
    default:
      return [{ path: formatPath(issue.path), message: issue.message }];
  }
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((text, key) => {
    if (typeof key === 'number') return `${text}[${key}]`;
    return text ? `${text}.${String(key)}` : String(key);
  }, '');
}
