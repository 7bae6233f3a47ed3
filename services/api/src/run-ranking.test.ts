import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { exactTop, mergeTop, type RunTotals, type RunVersion } from './run-ranking.js';

const totals = (run: string, tax: number): RunTotals => ({ r_run: run, r_first: '', r_last: '', r_calls: '1', r_cost: '1', r_tax: String(tax) });
const version = (run: string, tax: number, v: number): RunVersion => ({ ...totals(run, tax), r_version: String(v) });
const ranked = (runs: RunTotals[]) => runs.map((r) => [r.r_run, r.r_tax]);

describe('exactTop', () => {
  it('serves a run from its latest version only, and a run in the live set from the live set', () => {
    // b's version 1 (tax 90) is stale: its latest (2, tax 5) was not read; c is in the live set.
    const candidates = [version('b', 90, 1), version('c', 50, 1), version('a', 10, 3), version('d', 1, 1)];
    const latest = new Map([['a', '3'], ['b', '2'], ['c', '1'], ['d', '1']]);
    const top = exactTop({ order: 'r_tax', limit: 3, requested: 10, candidates, latest, live: new Set(['c', 'e']), liveTop: [totals('c', 40), totals('e', 2)] });
    expect(top && ranked(top)).toEqual([['c', '40'], ['a', '10'], ['e', '2']]);
  });

  it('gives up when stale versions fill the candidates, and answers once enough runs rank before the last read', () => {
    const stale = [version('a', 99, 1), version('a', 98, 2), version('a', 97, 3)];
    const latest = new Map([['a', '9'], ['b', '1'], ['c', '1']]);
    const base = { order: 'r_tax' as const, limit: 1, live: new Set<string>(), liveTop: [] };
    // Three rows read of three asked, none a latest version: a run not read may rank first.
    expect(exactTop({ ...base, requested: 3, candidates: stale, latest })).toBeNull();
    // b ranks before the last row read (c's): every run not read ranks after it.
    expect(ranked(exactTop({ ...base, requested: 5, candidates: [...stale, version('b', 20, 1), version('c', 10, 1)], latest }) ?? [])).toEqual([['b', '20']]);
    // b is the last row read, its latest: a run not read ranks after it, a (latest not read) too.
    expect(ranked(exactTop({ ...base, requested: 4, candidates: [...stale, version('b', 20, 1)], latest }) ?? [])).toEqual([['b', '20']]);
    // The last row read is a stale version of b: b's latest (tied with it, or lower) is not known.
    expect(exactTop({ ...base, requested: 4, candidates: [...stale, version('b', 20, 0)], latest })).toBeNull();
  });

  it('is the top of the runs in range whenever it answers, as is the slow path (property)', () => {
    const ids = ['a', 'b', 'ab', 'B', 'a0', 'é', 'z'];
    const state = fc.constantFrom('inside' as const, 'crossing' as const, 'outside' as const);
    const run = fc.record({
      // A run's versions, oldest first: its totals, and where they lie against the range.
      versions: fc.array(fc.record({ tax: fc.integer({ min: 0, max: 4 }), state }), { minLength: 1, maxLength: 4 }),
      dirty: fc.boolean(),
      extraLive: fc.boolean(),
      // What the facts give over the range for a run the rollup cannot serve (null: no call in it).
      liveTax: fc.option(fc.integer({ min: 0, max: 4 })),
    });
    fc.assert(fc.property(
      fc.uniqueArray(fc.tuple(fc.constantFrom(...ids), run), { selector: ([id]) => id, maxLength: ids.length }),
      fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 10 }), fc.integer(),
      (runs, limit, requested, seed) => {
        const inS = new Map<string, number>();
        const live = new Set<string>();
        const inT: RunTotals[] = [];
        const liveRuns: RunTotals[] = [];
        const rows: RunVersion[] = [];
        for (const [id, r] of runs) {
          const last = r.versions[r.versions.length - 1]!;
          if (!r.dirty && last.state === 'inside') inS.set(id, last.tax);
          if (r.dirty || r.extraLive || r.versions.some((v) => v.state === 'crossing')) live.add(id);
          // Exact over the range: the latest version where it is wholly inside, else the facts.
          const tax = inS.has(id) ? inS.get(id)! : r.dirty || last.state === 'crossing' ? r.liveTax : null;
          if (tax !== null) inT.push(totals(id, tax));
          if (tax !== null && live.has(id)) liveRuns.push(totals(id, tax));
          if (!r.dirty) r.versions.forEach((v, i) => { if (v.state === 'inside') rows.push(version(id, v.tax, i + 1)); });
        }
        const top = (xs: RunTotals[], n: number) => mergeTop(xs, new Set(), [], 'r_tax', n);
        const truth = ranked(top(inT, limit));
        const liveTop = top(liveRuns, limit);
        // Rows tied on (tax, run) come in any order.
        const shuffled = rows.map((r, i) => ({ r, k: (seed ^ (i * 2_654_435_761)) >>> 0 })).sort((a, b) => a.k - b.k).map(({ r }) => r);
        const candidates = top(shuffled, requested) as RunVersion[];
        const latest = new Map(runs.filter(([id]) => candidates.some((c) => c.r_run === id)).map(([id, r]) => [id, String(r.versions.length)]));
        const exact = exactTop({ order: 'r_tax', limit, requested, candidates, latest, live, liveTop });
        if (candidates.length < requested) expect(exact).not.toBeNull();
        if (exact) expect(ranked(exact)).toEqual(truth);
        // Slow path: the top of S from the latest versions, merged with the live set's top.
        const rolledTop = top([...inS].map(([id, tax]) => totals(id, tax)), limit);
        expect(ranked(mergeTop(rolledTop, live, liveTop, 'r_tax', limit))).toEqual(truth);
      },
    ), { numRuns: 2000 });
  });
});
