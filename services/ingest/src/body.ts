import { isUtf8 } from 'node:buffer';
import { promisify } from 'node:util';
import { brotliDecompress, gunzip, inflate } from 'node:zlib';
import { HttpError } from './errors.js';

const decoders = {
  gzip: promisify(gunzip),
  'x-gzip': promisify(gunzip),
  deflate: promisify(inflate),
  br: promisify(brotliDecompress),
} as const;

/**
 * Undoes `Content-Encoding`. The limit applies to the decompressed size, so a small gzip
 * bomb is refused (413) without ever being inflated past the limit.
 */
export async function decodeBody(raw: Buffer, contentEncoding: string | undefined, maxBytes: number): Promise<Buffer> {
  const encoding = (contentEncoding ?? 'identity').trim().toLowerCase();
  if (encoding === 'identity' || encoding === '') return raw;
  const decode = decoders[encoding as keyof typeof decoders];
  if (!decode) throw new HttpError(415, `unsupported Content-Encoding "${encoding}" (use gzip, deflate, br or none)`);
  try {
    return await decode(raw, { maxOutputLength: maxBytes });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new HttpError(413, `body exceeds ${maxBytes} bytes after decompression`);
    }
    throw new HttpError(400, `body is not valid ${encoding}: ${(error as Error).message}`);
  }
}

/** Strict UTF-8 (as TextDecoder with `fatal`, a leading byte-order mark dropped), checked natively first. */
function decodeUtf8(body: Buffer): string {
  if (!isUtf8(body)) throw new HttpError(400, 'body is not valid UTF-8');
  const bom = body.length >= 3 && body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf;
  return (bom ? body.subarray(3) : body).toString('utf8');
}

/** One item of a batch: a parsed value, or why that line could not be parsed. */
export type BatchItem = { ok: true; value: unknown } | { ok: false; message: string };

const maxDepth = 32;

/**
 * JSON.parse, made strict about what it silently forgives: duplicate keys (the last would
 * win without a word) and nesting deeper than any event needs. Returns an error message or
 * the value.
 */
export function parseStrictJson(text: string): { ok: true; value: unknown } | { ok: false; message: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, message: `invalid JSON: ${(error as Error).message}` };
  }
  const problem = plainlyFine(text, value) ? undefined : hiddenProblem(text);
  return problem ? { ok: false, message: problem } : { ok: true, value };
}

/**
 * A cheap proof that `text` hides nothing: as many keys in the text as in the parsed value
 * (so no key was dropped as a duplicate), nested no deeper than allowed. Counts a key for
 * every unescaped quote followed by a colon; a string value that starts with a colon is
 * counted too, which can only make the counts differ. When they differ, or the value is
 * deep, hiddenProblem looks properly (and finds the message).
 */
function plainlyFine(text: string, value: unknown): boolean {
  const parsedKeys = countKeys(value, 1);
  if (parsedKeys < 0) return false;
  let textKeys = 0;
  for (let colon = text.indexOf(':'); colon !== -1; colon = text.indexOf(':', colon + 1)) {
    let quote = colon - 1;
    while (isJsonSpace(text.charCodeAt(quote))) quote--;
    if (text.charCodeAt(quote) !== 0x22 /* " */) continue;
    let backslashes = 0;
    while (text.charCodeAt(quote - 1 - backslashes) === 0x5c /* \ */) backslashes++;
    if (backslashes % 2 === 0) textKeys++;
  }
  return textKeys === parsedKeys;
}

const isJsonSpace = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;

/** Keys of all objects in a parsed value, or -1 once it nests deeper than maxDepth. */
function countKeys(value: unknown, depth: number): number {
  if (typeof value !== 'object' || value === null) return 0;
  if (depth > maxDepth) return -1;
  let keys = 0;
  if (Array.isArray(value)) {
    for (const item of value as unknown[]) {
      const inner = countKeys(item, depth + 1);
      if (inner < 0) return -1;
      keys += inner;
    }
    return keys;
  }
  for (const key in value) {
    const inner = countKeys((value as Record<string, unknown>)[key], depth + 1);
    if (inner < 0) return -1;
    keys += inner + 1;
  }
  return keys;
}

/** An open object (with the keys seen so far) or array (with the current index) during the scan. */
interface Container {
  keys: Set<string> | undefined;
  key: string;
  index: number;
}

/**
 * What JSON.parse accepted but hides: a second pass over text already known to be valid JSON.
 * A flat loop with an explicit stack, so no nesting depth can overflow the call stack, and
 * strings are skipped with indexOf rather than walked character by character.
 */
function hiddenProblem(text: string): string | undefined {
  const stack: Container[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const end = endOfString(text, i);
      const top = stack[stack.length - 1];
      if (top?.keys && isFollowedByColon(text, end + 1)) {
        const raw = text.slice(i + 1, end);
        const key = raw.includes('\\') ? (JSON.parse(text.slice(i, end + 1)) as string) : raw;
        if (top.keys.has(key)) {
          const where = containerPath(stack);
          return `duplicate key "${key}"${where ? ` in ${where}` : ''}`;
        }
        top.keys.add(key);
        top.key = key;
      }
      i = end;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      stack.push({ keys: c === 0x7b ? new Set() : undefined, key: '', index: 0 });
      if (stack.length > maxDepth) return `nesting deeper than ${maxDepth} levels`;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
    } else if (c === 0x2c /* , */) {
      const top = stack[stack.length - 1];
      if (top && !top.keys) top.index++;
    }
  }
  return undefined;
}

/** Index of the quote that closes the string opening at `start` (valid JSON: it exists). */
function endOfString(text: string, start: number): number {
  let end = text.indexOf('"', start + 1);
  for (;;) {
    let backslashes = 0;
    while (text.charCodeAt(end - 1 - backslashes) === 0x5c /* \ */) backslashes++;
    if (backslashes % 2 === 0) return end;
    end = text.indexOf('"', end + 1);
  }
}

function isFollowedByColon(text: string, from: number): boolean {
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x3a /* : */) return true;
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return false;
  }
  return false;
}

/** The path of the innermost container, in the FieldError form: `[1].tags`, `usage.details`. */
function containerPath(stack: Container[]): string {
  let path = '';
  for (let depth = 0; depth < stack.length - 1; depth++) {
    const container = stack[depth]!;
    if (container.keys) path = path ? `${path}.${container.key}` : container.key;
    else path = `${path}[${container.index}]`;
  }
  return path;
}

/**
 * A request body as a list of items: NDJSON (one event per line; a bad line is that item's
 * error) or JSON (one object, or an array of them).
 */
export function parseBatch(body: Buffer, contentType: string | undefined): BatchItem[] {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  const ndjson = type === 'application/x-ndjson' || type === 'application/ndjson' || type === 'application/jsonl';
  if (!ndjson && type !== 'application/json' && type !== '') {
    throw new HttpError(415, `unsupported Content-Type "${type}" (use application/json or application/x-ndjson)`);
  }
  const text = decodeUtf8(body);
  if (ndjson) {
    return text
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => parseStrictJson(line));
  }
  const parsed = parseStrictJson(text);
  if (!parsed.ok) throw new HttpError(400, parsed.message);
  const values = Array.isArray(parsed.value) ? parsed.value : [parsed.value];
  return values.map((value) => ({ ok: true, value }));
}
