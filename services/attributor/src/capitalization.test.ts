import { describe, expect, it } from 'vitest';
import { UNATTRIBUTED } from './attribution.js';
import { classifyCapitalization, indexProjectCatalogue, projectCatalogueSchema, type ProjectCatalogue } from './capitalization.js';

const DEV_STARTS = Date.UTC(2026, 0, 1);
const POST_IMPLEMENTATION_STARTS = Date.UTC(2026, 6, 1);

const catalogue = indexProjectCatalogue({
  ledger: { class: 'capex_eligible', investment: 'inv-ledger', stages: { preliminary_until: DEV_STARTS, development_until: POST_IMPLEMENTATION_STARTS } },
  'still-building': { class: 'capex_eligible', stages: { preliminary_until: DEV_STARTS } },
  'no-dates': { class: 'capex_eligible' },
  'retired-early': { class: 'capex_eligible', stages: { development_until: POST_IMPLEMENTATION_STARTS } },
  support: { class: 'opex' },
  'inv-platform': { class: 'capex_eligible', stages: { preliminary_until: DEV_STARTS } },
} satisfies ProjectCatalogue);

const classify = (project: string, occurredAt: number, investment: string | null = null) =>
  classifyCapitalization({ project, investment }, occurredAt, catalogue);

describe('classifyCapitalization (ASC 350-40)', () => {
  it('capitalizes only during application development: start inclusive, post-implementation exclusive', () => {
    expect(classify('ledger', DEV_STARTS - 1)).toEqual({ capex_class: 'opex', capex_reason: 'asc350-40:preliminary' });
    expect(classify('ledger', DEV_STARTS)).toEqual({ capex_class: 'capex', capex_reason: 'asc350-40:application_development' });
    expect(classify('ledger', POST_IMPLEMENTATION_STARTS - 1).capex_class).toBe('capex');
    expect(classify('ledger', POST_IMPLEMENTATION_STARTS)).toEqual({ capex_class: 'opex', capex_reason: 'asc350-40:post_implementation' });
  });

  it('keeps an open-ended development stage capitalizable', () => {
    expect(classify('still-building', Date.UTC(2030, 0, 1)).capex_class).toBe('capex');
  });

  it('treats a project without a recorded development start as preliminary', () => {
    expect(classify('no-dates', DEV_STARTS).capex_reason).toBe('asc350-40:preliminary');
    expect(classify('retired-early', DEV_STARTS).capex_reason).toBe('asc350-40:preliminary');
    expect(classify('retired-early', POST_IMPLEMENTATION_STARTS).capex_reason).toBe('asc350-40:post_implementation');
  });

  it('expenses opex projects at any time', () => {
    expect(classify('support', DEV_STARTS)).toEqual({ capex_class: 'opex', capex_reason: 'project_class:opex' });
  });

  it('falls back to the investment when the project is not catalogued', () => {
    expect(classify('new-thing', DEV_STARTS, 'inv-platform').capex_class).toBe('capex');
    expect(classify(UNATTRIBUTED, DEV_STARTS, 'inv-platform').capex_class).toBe('capex');
  });

  it('expenses unknown and unattributed work', () => {
    expect(classify('mystery', DEV_STARTS)).toEqual({ capex_class: 'opex', capex_reason: 'unknown_project' });
    expect(classify('mystery', DEV_STARTS, 'inv-unknown').capex_reason).toBe('unknown_project');
    expect(classify(UNATTRIBUTED, DEV_STARTS)).toEqual({ capex_class: 'opex', capex_reason: 'unattributed' });
    expect(classify('constructor', DEV_STARTS).capex_reason).toBe('unknown_project');
  });

  it('rejects stages that end before they start', () => {
    const result = projectCatalogueSchema.safeParse({
      bad: { class: 'capex_eligible', stages: { preliminary_until: POST_IMPLEMENTATION_STARTS, development_until: DEV_STARTS } },
    });
    expect(result.success).toBe(false);
  });
});
