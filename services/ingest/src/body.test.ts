import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodeBody, parseBatch, parseStrictJson } from './body.js';
import { HttpError } from './errors.js';

const MiB = 1024 * 1024;

function nested(depth: number, open = '[', close = ']'): string {
  return open.repeat(depth) + close.repeat(depth);
}

function nestedObjects(depth: number): string {
  return '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
}

async function httpErrorOf(promise: Promise<unknown> | (() => unknown)): Promise<HttpError> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (error) {
    expect(error).toBeInstanceOf(HttpError);
    return error as HttpError;
  }
  throw new Error('expected an HttpError');
}

describe('parseStrictJson', () => {
  it('passes valid JSON through', () => {
    const text = '[{"model":"gpt-4o","tags":{"env":"prod"},"n":[1,2,{"x":null}]},"\\"a\\":1",true]';
    expect(parseStrictJson(text)).toEqual({ ok: true, value: JSON.parse(text) });
  });

  it('allows the same key in different objects', () => {
    expect(parseStrictJson('[{"a":1,"b":{"a":2}},{"a":3,"b":{"a":4}}]').ok).toBe(true);
  });

  it('does not take strings that look like keys for keys', () => {
    expect(parseStrictJson('{"a":"b","c":["a","a"],"d":"a:","e":"\\"a\\":"}').ok).toBe(true);
  });

  it('rejects a duplicate key at the top level, naming it', () => {
    expect(parseStrictJson('{"model":"a","provider":"p","model":"b"}')).toEqual({ ok: false, message: 'duplicate key "model"' });
  });

  it('rejects a duplicate key in a nested object, naming the key and where it is', () => {
    expect(parseStrictJson('{"tags":{"env":"a","env":"b"}}')).toEqual({ ok: false, message: 'duplicate key "env" in tags' });
    expect(parseStrictJson('[{"a":1},{"a":2,"b":{"q":1,"q":2}}]')).toEqual({ ok: false, message: 'duplicate key "q" in [1].b' });
  });

  it('names the right object after a nested one closed', () => {
    expect(parseStrictJson('{"a":{"x":1},"b":1,"b":2}')).toEqual({ ok: false, message: 'duplicate key "b"' });
    expect(parseStrictJson('{"usage":{"details":{"x":1}},"tags":{"k":"1","k":"2"}}')).toEqual({
      ok: false,
      message: 'duplicate key "k" in tags',
    });
  });

  it('finds duplicates among strings that look like keys, and whitespace around colons', () => {
    expect(parseStrictJson('{"a":":","b":" :x","a":2}')).toEqual({ ok: false, message: 'duplicate key "a"' });
    expect(parseStrictJson('{"a":"\\":","a" : 2}')).toEqual({ ok: false, message: 'duplicate key "a"' });
    expect(parseStrictJson('{ "a" :\n1 ,\t"b"\r\n:2, "a"\n: 3 }')).toEqual({ ok: false, message: 'duplicate key "a"' });
    expect(parseStrictJson('{"a\\\\":"x\\\\","b":":","c":"\\":"}').ok).toBe(true);
    expect(parseStrictJson('[":", ":", {"k": " : "}]').ok).toBe(true);
  });

  it('sees through escapes: "a" and "\\u0061" are the same key', () => {
    expect(parseStrictJson('{"a":1,"\\u0061":2}')).toEqual({ ok: false, message: 'duplicate key "a"' });
    expect(parseStrictJson('{"a\\\\":1,"a":2}').ok).toBe(true); // `a\` and `a` differ
  });

  it('accepts nesting up to 32 levels and rejects deeper', () => {
    expect(parseStrictJson(nested(32)).ok).toBe(true);
    expect(parseStrictJson(nested(33))).toEqual({ ok: false, message: 'nesting deeper than 32 levels' });
    expect(parseStrictJson(nestedObjects(32)).ok).toBe(true);
    expect(parseStrictJson(nestedObjects(33))).toEqual({ ok: false, message: 'nesting deeper than 32 levels' });
  });

  it('rejects absurd nesting without overflowing the stack', () => {
    for (const depth of [1_000, 100_000, 1_000_000]) {
      expect(parseStrictJson(nested(depth))).toEqual({ ok: false, message: 'nesting deeper than 32 levels' });
      expect(parseStrictJson(nestedObjects(depth))).toEqual({ ok: false, message: 'nesting deeper than 32 levels' });
    }
  });

  it('explains invalid JSON', () => {
    for (const text of ['', '{', '{"a":1,}', "{'a':1}", 'not json', '{"a":1} {"b":2}', '// c\n{}']) {
      const result = parseStrictJson(text);
      expect(result.ok, text).toBe(false);
      if (!result.ok) expect(result.message).toMatch(/^invalid JSON: /);
    }
  });
});

describe('parseBatch', () => {
  const json = (value: unknown) => Buffer.from(JSON.stringify(value));

  it('reads a JSON array as its items', () => {
    expect(parseBatch(json([{ a: 1 }, { b: 2 }]), 'application/json')).toEqual([
      { ok: true, value: { a: 1 } },
      { ok: true, value: { b: 2 } },
    ]);
  });

  it('reads a single JSON object as one item', () => {
    expect(parseBatch(json({ a: 1 }), 'application/json; charset=utf-8')).toEqual([{ ok: true, value: { a: 1 } }]);
  });

  it('treats a missing Content-Type as JSON', () => {
    expect(parseBatch(json([{ a: 1 }]), undefined)).toEqual([{ ok: true, value: { a: 1 } }]);
  });

  it('reads an empty array as no items', () => {
    expect(parseBatch(Buffer.from('[]'), 'application/json')).toEqual([]);
  });

  it('reads NDJSON line by line; a bad line is that item error, not the whole body', () => {
    const body = Buffer.from('{"a":1}\r\n\n{"a":\n{"b":2,"b":3}\n{"c":3}\n');
    const items = parseBatch(body, 'application/x-ndjson');
    expect(items).toHaveLength(4);
    expect(items[0]).toEqual({ ok: true, value: { a: 1 } });
    expect(items[1]).toMatchObject({ ok: false, message: expect.stringMatching(/^invalid JSON/) });
    expect(items[2]).toEqual({ ok: false, message: 'duplicate key "b"' });
    expect(items[3]).toEqual({ ok: true, value: { c: 3 } });
  });

  it('accepts the other NDJSON media types', () => {
    for (const type of ['application/ndjson', 'application/jsonl', 'Application/X-NDJSON; charset=utf-8']) {
      expect(parseBatch(Buffer.from('{"a":1}\n{"a":2}'), type)).toHaveLength(2);
    }
  });

  it('answers 400 for a body that is not JSON, with the reason', async () => {
    const error = await httpErrorOf(() => parseBatch(Buffer.from('{"a":'), 'application/json'));
    expect(error.statusCode).toBe(400);
    expect(error.message).toMatch(/^invalid JSON: /);
    const duplicate = await httpErrorOf(() => parseBatch(Buffer.from('[{"a":1,"a":2}]'), 'application/json'));
    expect(duplicate.statusCode).toBe(400);
    expect(duplicate.message).toBe('duplicate key "a" in [0]');
  });

  it('answers 415 for an unsupported Content-Type', async () => {
    for (const type of ['text/plain', 'application/xml', 'multipart/form-data; boundary=x']) {
      const error = await httpErrorOf(() => parseBatch(json([{ a: 1 }]), type));
      expect(error.statusCode).toBe(415);
      expect(error.message).toContain('unsupported Content-Type');
    }
  });

  it('answers 400 for invalid UTF-8', async () => {
    // A broken sequence, an encoded surrogate (CESU-8), an overlong slash, a truncated last character.
    for (const bad of [[0xc3, 0x28, 0xff], [0xed, 0xa0, 0x80], [0xc0, 0xaf], [0xe2, 0x82]]) {
      const body = Buffer.concat([Buffer.from('[{"model":"'), Buffer.from(bad), Buffer.from('"}]')]);
      for (const type of ['application/json', 'application/x-ndjson']) {
        const error = await httpErrorOf(() => parseBatch(body, type));
        expect(error.statusCode).toBe(400);
        expect(error.message).toBe('body is not valid UTF-8');
      }
    }
  });

  it('accepts multi-byte UTF-8 and a byte-order mark', () => {
    const body = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('[{"model":"模型-ü-🙂"}]')]);
    expect(parseBatch(body, 'application/json')).toEqual([{ ok: true, value: { model: '模型-ü-🙂' } }]);
  });
});

describe('decodeBody', () => {
  const text = Buffer.from(JSON.stringify([{ model: 'gpt-4o', input_tokens: 12 }]));

  it('passes an identity body through', async () => {
    expect(await decodeBody(text, undefined, MiB)).toBe(text);
    expect(await decodeBody(text, 'identity', MiB)).toBe(text);
  });

  it('inflates gzip, deflate and br', async () => {
    expect(await decodeBody(gzipSync(text), 'gzip', MiB)).toEqual(text);
    expect(await decodeBody(gzipSync(text), ' GZIP ', MiB)).toEqual(text);
    expect(await decodeBody(gzipSync(text), 'x-gzip', MiB)).toEqual(text);
    expect(await decodeBody(deflateSync(text), 'deflate', MiB)).toEqual(text);
    expect(await decodeBody(brotliCompressSync(text), 'br', MiB)).toEqual(text);
  });

  it('accepts a body exactly at the limit after decompression', async () => {
    const body = Buffer.alloc(64 * 1024, 0x20);
    expect((await decodeBody(gzipSync(body), 'gzip', body.length)).length).toBe(body.length);
  });

  it('refuses a gzip bomb with 413 without inflating it', async () => {
    const bomb = gzipSync(Buffer.alloc(50 * MiB));
    expect(bomb.length).toBeLessThan(100 * 1024);
    const error = await httpErrorOf(decodeBody(bomb, 'gzip', 10 * MiB));
    expect(error.statusCode).toBe(413);
    expect(error.message).toBe(`body exceeds ${10 * MiB} bytes after decompression`);
  });

  it('refuses a brotli bomb with 413', async () => {
    const error = await httpErrorOf(decodeBody(brotliCompressSync(Buffer.alloc(4 * MiB)), 'br', MiB));
    expect(error.statusCode).toBe(413);
  });

  it('answers 400 for a body that is not what its encoding says', async () => {
    const error = await httpErrorOf(decodeBody(text, 'gzip', MiB));
    expect(error.statusCode).toBe(400);
    expect(error.message).toMatch(/^body is not valid gzip: /);
    const truncated = gzipSync(text).subarray(0, 20);
    expect((await httpErrorOf(decodeBody(truncated, 'gzip', MiB))).statusCode).toBe(400);
  });

  it('answers 415 for an unknown encoding', async () => {
    for (const encoding of ['compress', 'zstd', 'gzip, br']) {
      const error = await httpErrorOf(decodeBody(text, encoding, MiB));
      expect(error.statusCode).toBe(415);
      expect(error.message).toContain('unsupported Content-Encoding');
    }
  });
});
