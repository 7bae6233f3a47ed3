/**
 * Capitalize or expense a cost allocation, following ASC 350-40 (internal-use software): costs
 * are capitalizable only during the application-development stage; the preliminary-project and
 * post-implementation stages are expensed.
 */
import { z } from 'zod';
import { projectEntrySchema, type ProjectEntry } from '@tokenledger/schemas';
import { UNATTRIBUTED } from './attribution.js';

export type { ProjectEntry };

export const projectCatalogueSchema = z.record(z.string(), projectEntrySchema);

export type ProjectCatalogue = z.infer<typeof projectCatalogueSchema>;

export type CapexClass = 'capex' | 'opex';
export type CapexReason =
  | 'asc350-40:application_development'
  | 'asc350-40:preliminary'
  | 'asc350-40:post_implementation'
  | 'project_class:opex'
  | 'unknown_project'
  | 'unattributed';

export interface CapitalizationDecision {
  capex_class: CapexClass;
  capex_reason: CapexReason;
}

/**
 * Classifies one allocation at the event's time. The project's entry decides; an allocation whose
 * project is not catalogued falls back to its investment's entry.
 */
export function classifyCapitalization(
  allocation: { project: string; investment: string | null },
  occurredAt: number,
  catalogue: ReadonlyMap<string, ProjectEntry>,
): CapitalizationDecision {
  const entry =
    (allocation.project === UNATTRIBUTED ? undefined : catalogue.get(allocation.project)) ??
    (allocation.investment === null ? undefined : catalogue.get(allocation.investment));
  if (!entry) return opex(allocation.project === UNATTRIBUTED && allocation.investment === null ? 'unattributed' : 'unknown_project');
  if (entry.class === 'opex') return opex('project_class:opex');

  const { preliminary_until: developmentStarts, development_until: postImplementationStarts } = entry.stages ?? {};
  if (postImplementationStarts !== undefined && occurredAt >= postImplementationStarts) return opex('asc350-40:post_implementation');
  if (developmentStarts === undefined || occurredAt < developmentStarts) return opex('asc350-40:preliminary');
  return { capex_class: 'capex', capex_reason: 'asc350-40:application_development' };
}

/** The catalogue as a Map, so project names like "constructor" cannot reach Object.prototype. */
export function indexProjectCatalogue(catalogue: ProjectCatalogue): ReadonlyMap<string, ProjectEntry> {
  return new Map(Object.entries(catalogue));
}

function opex(reason: CapexReason): CapitalizationDecision {
  return { capex_class: 'opex', capex_reason: reason };
}
