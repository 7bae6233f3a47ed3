import { describe, expect, it } from 'vitest';
import {
  compileAttributor,
  MAX_SCANNED_TEXT_LENGTH,
  parseProjectSplit,
  UNATTRIBUTED,
  type AttributionRule,
  type AttributionTiersConfig,
} from './attribution.js';
import type { UsageInput, UsagePrompt } from './usage-input.js';

function usageOf(fields: Partial<UsageInput> & { excerpt?: string; system_prompt_id?: string }): UsageInput {
  const { excerpt, system_prompt_id, ...rest } = fields;
  const prompt: UsagePrompt | null =
    excerpt === undefined && system_prompt_id === undefined
      ? null
      : { excerpt: excerpt ?? null, system_prompt_id: system_prompt_id ?? null, fingerprint: 'fp-1' };
  return {
    tenant_id: 'tenant-a',
    event_id: 'event-1',
    occurred_at: Date.UTC(2026, 0, 15),
    provider: 'openai',
    model: 'gpt-4o',
    operation: 'chat',
    input_tokens: 10,
    output_tokens: 10,
    cached_input_tokens: 0,
    cache_write_tokens: 0,
    reasoning_tokens: 0,
    run_id: 'run-1',
    workflow: null,
    agent: null,
    step: null,
    user_id: null,
    tags: {},
    prompt,
    reported_cost_usd: null,
    ...rest,
  };
}

const directory: AttributionTiersConfig['directory'] = {
  users: { ana: { team: 'payments-team' }, bo: { team: 'research' }, cy: { team: 'ghost-team' } },
  teams: {
    'payments-team': { cost_center: 'CC-100', default_project: 'payments' },
    research: { cost_center: 'CC-200', default_project: null },
  },
};

function attributorWith(rules: AttributionRule[], ticketPrefixes: Record<string, string> = {}) {
  return compileAttributor({ rules, ticketPrefixes, directory });
}

const none = attributorWith([]);

describe('explicit tier', () => {
  it('takes the project tag', () => {
    expect(none.attribute(usageOf({ tags: { project: 'alpha' } }))).toEqual({
      tier: 'explicit',
      rule_id: 'tag:project',
      allocations: [{ project: 'alpha', investment: null, cost_center: null, team: null, weight: 1 }],
    });
  });

  it('takes a project_split tag, ahead of the project tag', () => {
    const attribution = none.attribute(usageOf({ tags: { project: 'gamma', project_split: 'alpha:60, beta:40' } }));
    expect(attribution.rule_id).toBe('tag:project_split');
    expect(attribution.allocations.map(({ project, weight }) => [project, weight])).toEqual([
      ['alpha', 60],
      ['beta', 40],
    ]);
  });

  it('ignores a malformed project_split and falls back to the project tag', () => {
    const attribution = none.attribute(usageOf({ tags: { project: 'gamma', project_split: 'alpha:60,beta' } }));
    expect(attribution).toMatchObject({ rule_id: 'tag:project', allocations: [{ project: 'gamma' }] });
  });

  it('lets investment and cost_center tags win over any tier', () => {
    const attribution = none.attribute(usageOf({ user_id: 'ana', tags: { investment: 'inv-x', cost_center: 'CC-TAG' } }));
    expect(attribution).toMatchObject({
      tier: 'person',
      allocations: [{ project: 'payments', investment: 'inv-x', cost_center: 'CC-TAG', team: 'payments-team' }],
    });
  });

  it('fills team and cost center from the directory when the tag does not say', () => {
    expect(none.attribute(usageOf({ user_id: 'ana', tags: { project: 'alpha' } })).allocations).toEqual([
      { project: 'alpha', investment: null, cost_center: 'CC-100', team: 'payments-team', weight: 1 },
    ]);
  });

  it('treats blank tags as absent', () => {
    expect(none.attribute(usageOf({ tags: { project: '  ' } })).tier).toBe('unattributed');
  });
});

describe('parseProjectSplit', () => {
  it.each([
    ['alpha:60,beta:40', [{ project: 'alpha', weight: 60 }, { project: 'beta', weight: 40 }]],
    ['a:b:1.5', [{ project: 'a:b', weight: 1.5 }]],
  ])('parses %j', (text, expected) => {
    expect(parseProjectSplit(text)).toEqual(expected);
  });

  it.each(['', 'alpha', 'alpha:', ':5', 'alpha:0', 'alpha:-1', 'alpha:1e3', 'alpha:x', 'alpha:1,alpha:2', 'alpha:1,,beta:1'])(
    'rejects %j',
    (text) => {
      expect(parseProjectSplit(text)).toBeNull();
    },
  );
});

describe('prompt tier', () => {
  const rules: AttributionRule[] = [
    { id: 'billing-words', priority: 20, when: [{ field: 'prompt', keywords: ['invoice', 'refund'] }], target: { project: 'billing' } },
    { id: 'billing-all', priority: 10, when: [{ field: 'prompt', keywords: ['invoice', 'dispute'], match: 'all' }], target: { project: 'disputes' } },
    { id: 'sql', priority: 30, when: [{ field: 'prompt', regex: '\\bSELECT\\b.+\\bFROM\\b', flags: 'is' }], target: { project: 'data', cost_center: 'CC-DATA' } },
    { id: 'support-prompt', priority: 40, when: [{ field: 'system_prompt_id', equals: ['sp-support-v1', 'sp-support-v2'] }], target: { project: 'support' } },
    {
      id: 'agent-and-workflow',
      priority: 50,
      when: [
        { field: 'agent', equals: 'coder' },
        { field: 'workflow', keywords: ['migration'] },
      ],
      target: { split: [{ project: 'platform', weight: 3 }, { project: 'infra', weight: 1 }], investment: 'inv-modernize' },
    },
    { id: 'by-tag', priority: 60, when: [{ field: 'tag:team', regex: '^growth' }], target: { investment: 'inv-growth' } },
  ];
  const attributor = attributorWith(rules);

  it('matches keywords case-insensitively and as whole words', () => {
    expect(attributor.attribute(usageOf({ excerpt: 'Please issue a REFUND now' }))).toMatchObject({ tier: 'prompt', rule_id: 'billing-words' });
    expect(attributor.attribute(usageOf({ excerpt: 'the invoices table' })).tier).toBe('unattributed');
  });

  it('takes the first matching rule by priority, not configuration order', () => {
    expect(attributor.attribute(usageOf({ excerpt: 'invoice dispute from a customer' })).rule_id).toBe('billing-all');
    expect(attributor.attribute(usageOf({ excerpt: 'invoice for a customer' })).rule_id).toBe('billing-words');
  });

  it('keeps configuration order among equal priorities', () => {
    const tie = attributorWith([
      { id: 'first', priority: 1, when: [{ field: 'prompt', keywords: ['x'] }], target: { project: 'a' } },
      { id: 'second', priority: 1, when: [{ field: 'prompt', keywords: ['x'] }], target: { project: 'b' } },
    ]);
    expect(tie.attribute(usageOf({ excerpt: 'x' })).rule_id).toBe('first');
  });

  it('matches regular expressions with their flags', () => {
    expect(attributor.attribute(usageOf({ excerpt: 'select *\nfrom orders' }))).toMatchObject({
      rule_id: 'sql',
      allocations: [{ project: 'data', cost_center: 'CC-DATA' }],
    });
  });

  it('matches exact system prompt ids', () => {
    expect(attributor.attribute(usageOf({ system_prompt_id: 'sp-support-v2' })).rule_id).toBe('support-prompt');
    expect(attributor.attribute(usageOf({ system_prompt_id: 'sp-support-v3' })).tier).toBe('unattributed');
  });

  it('requires every condition of a rule and produces its split', () => {
    expect(attributor.attribute(usageOf({ agent: 'coder', workflow: 'db migration' }))).toEqual({
      tier: 'prompt',
      rule_id: 'agent-and-workflow',
      allocations: [
        { project: 'platform', investment: 'inv-modernize', cost_center: null, team: null, weight: 3 },
        { project: 'infra', investment: 'inv-modernize', cost_center: null, team: null, weight: 1 },
      ],
    });
    expect(attributor.attribute(usageOf({ agent: 'coder', workflow: 'refactor' })).tier).toBe('unattributed');
  });

  it('reads tag fields, and an investment-only target leaves the project unattributed', () => {
    expect(attributor.attribute(usageOf({ tags: { team: 'growth-emea' } }))).toMatchObject({
      rule_id: 'by-tag',
      allocations: [{ project: UNATTRIBUTED, investment: 'inv-growth' }],
    });
    expect(attributor.attribute(usageOf({ tags: {} })).tier).toBe('unattributed');
  });

  it('scans only the first MAX_SCANNED_TEXT_LENGTH characters', () => {
    const padding = 'a '.repeat(MAX_SCANNED_TEXT_LENGTH);
    expect(attributor.attribute(usageOf({ excerpt: `refund ${padding}` })).rule_id).toBe('billing-words');
    expect(attributor.attribute(usageOf({ excerpt: `${padding} refund` })).tier).toBe('unattributed');
  });

  it('never copies prompt text into the result', () => {
    const attribution = attributor.attribute(usageOf({ excerpt: 'secret refund for ACME-CORP' }));
    expect(JSON.stringify(attribution)).not.toMatch(/secret|ACME/);
  });

  it('is decided before the person tier', () => {
    expect(attributor.attribute(usageOf({ user_id: 'ana', excerpt: 'refund' }))).toMatchObject({
      tier: 'prompt',
      allocations: [{ project: 'billing', cost_center: 'CC-100', team: 'payments-team' }],
    });
  });
});

describe('ticket keys', () => {
  const attributor = attributorWith(
    [{ id: 'refunds', priority: 1, when: [{ field: 'prompt', keywords: ['refund'] }], target: { project: 'billing' } }],
    { PAY: 'payments', OPS: 'operations' },
  );

  it('attributes a ticket key to the project owning its prefix', () => {
    expect(attributor.attribute(usageOf({ excerpt: 'Fix the bug in PAY-1234 please' }))).toEqual({
      tier: 'prompt',
      rule_id: 'ticket:PAY',
      allocations: [{ project: 'payments', investment: null, cost_center: null, team: null, weight: 1 }],
    });
  });

  it('takes the first key with a known prefix in reading order', () => {
    expect(attributor.attribute(usageOf({ excerpt: 'see ABC-1, then OPS-7 and PAY-2' })).rule_id).toBe('ticket:OPS');
  });

  it('ignores lookalikes', () => {
    for (const excerpt of ['XPAY-12', 'pay-12', 'PAY-12a', 'PAY-', 'PAY_1']) {
      expect(attributor.attribute(usageOf({ excerpt })).tier).toBe('unattributed');
    }
  });

  it('ranks after the configured rules', () => {
    expect(attributor.attribute(usageOf({ excerpt: 'refund for PAY-1' })).rule_id).toBe('refunds');
  });
});

describe('person tier and unattributed', () => {
  it("uses the user's team default project and cost center", () => {
    expect(none.attribute(usageOf({ user_id: 'ana' }))).toEqual({
      tier: 'person',
      rule_id: 'directory:payments-team',
      allocations: [{ project: 'payments', investment: null, cost_center: 'CC-100', team: 'payments-team', weight: 1 }],
    });
  });

  it('keeps team and cost center on the unattributed bucket when the team has no default project', () => {
    expect(none.attribute(usageOf({ user_id: 'bo' }))).toEqual({
      tier: 'unattributed',
      rule_id: 'none',
      allocations: [{ project: UNATTRIBUTED, investment: null, cost_center: 'CC-200', team: 'research', weight: 1 }],
    });
  });

  it('puts unknown users, unknown teams and anonymous usage in one unattributed allocation', () => {
    for (const user_id of [null, 'stranger', 'cy', 'constructor', '__proto__']) {
      const attribution = none.attribute(usageOf({ user_id }));
      expect(attribution.tier).toBe('unattributed');
      expect(attribution.allocations).toHaveLength(1);
      expect(attribution.allocations[0]?.project).toBe(UNATTRIBUTED);
    }
    expect(none.attribute(usageOf({ user_id: 'cy' })).allocations[0]?.team).toBe('ghost-team');
  });

  it('does not read tags from the object prototype', () => {
    const attributor = attributorWith([{ id: 'proto', priority: 1, when: [{ field: 'tag:constructor', regex: '.' }], target: { project: 'x' } }]);
    expect(attributor.attribute(usageOf({ tags: {} })).tier).toBe('unattributed');
  });
});

describe('configuration errors', () => {
  const rule = (fields: Partial<AttributionRule>): AttributionRule => ({
    id: 'r',
    priority: 1,
    when: [{ field: 'prompt', keywords: ['x'] }],
    target: { project: 'p' },
    ...fields,
  });

  it.each([
    ['an invalid regex', rule({ when: [{ field: 'prompt', regex: '(' }] })],
    ['a stateful regex flag', rule({ when: [{ field: 'prompt', regex: 'x', flags: 'g' }] })],
    ['a rule without conditions', rule({ when: [] })],
    ['a split naming a project twice', rule({ target: { split: [{ project: 'a', weight: 1 }, { project: 'a', weight: 2 }] } })],
    ['a zero split weight', rule({ target: { split: [{ project: 'a', weight: 0 }] } })],
    ['a project and a split', rule({ target: { project: 'a', split: [{ project: 'b', weight: 1 }] } })],
    ['an empty target', rule({ target: {} })],
  ])('rejects %s', (_, badRule) => {
    expect(() => attributorWith([badRule])).toThrow(/rule|invalid/);
  });

  it('rejects lowercase ticket prefixes', () => {
    expect(() => attributorWith([], { pay: 'payments' })).toThrow(/invalid attribution rules/);
  });
});
