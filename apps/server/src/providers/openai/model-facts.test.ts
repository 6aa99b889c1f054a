import { describe, expect, it } from 'vitest';
import { MemoryModelFacts } from './model-facts.js';

describe('MemoryModelFacts', () => {
  it('keeps what each model refused and its output limit, apart from other models', () => {
    const facts = new MemoryModelFacts();
    facts.learnRefusedParam('o3', 'stop');
    facts.learnRefusedParam('o3', 'reasoning_effort');
    facts.learnOutputLimit('gpt-4o', 16384);
    expect([...facts.refusedParams('o3')]).toEqual(['stop', 'reasoning_effort']);
    expect(facts.refusedParams('gpt-4o').size).toBe(0);
    expect(facts.outputLimit('gpt-4o')).toBe(16384);
    expect(facts.outputLimit('o3')).toBeUndefined();
  });

  it('is bounded: past the limit of models it forgets, and learns again', () => {
    const facts = new MemoryModelFacts(3);
    for (const model of ['a', 'b', 'c']) {
      facts.learnRefusedParam(model, 'stop');
      facts.learnOutputLimit(model, 100);
    }
    facts.learnRefusedParam('d', 'stop');
    facts.learnOutputLimit('d', 100);
    expect(['a', 'b', 'c', 'd'].map((m) => facts.refusedParams(m).size)).toEqual([0, 0, 0, 1]);
    expect(['a', 'b', 'c', 'd'].map((m) => facts.outputLimit(m))).toEqual([undefined, undefined, undefined, 100]);
    // a model already known does not count twice
    facts.learnOutputLimit('d', 50);
    expect(facts.outputLimit('d')).toBe(50);
  });
});
