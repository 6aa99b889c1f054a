import { describe, expect, it } from 'vitest';
import { MemoryFactsStore, MemoryModelFacts, type Fact } from './model-facts.js';

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

describe('continuation refusals', () => {
  it('are remembered per model, and bounded like the rest', () => {
    const facts = new MemoryModelFacts(2);
    facts.learnContinuationRefused('claude-opus-4-6');
    expect(facts.refusesContinuation('claude-opus-4-6')).toBe(true);
    expect(facts.refusesContinuation('claude-sonnet-4-5')).toBe(false);
    facts.learnContinuationRefused('b');
    facts.learnContinuationRefused('c');
    expect(['claude-opus-4-6', 'b', 'c'].map((m) => facts.refusesContinuation(m))).toEqual([false, false, true]);
  });
});

describe('MemoryFactsStore', () => {
  it('keeps each provider apart and tells of what it learns, once, but not of what it is told', () => {
    const heard: Array<[string, string, Fact]> = [];
    const store = new MemoryFactsStore(1000, (provider, model, fact) => heard.push([provider, model, fact]));
    store.forProvider('openai').learnRefusedParam('o3', 'stop');
    store.forProvider('openai').learnRefusedParam('o3', 'stop');
    store.forProvider('anthropic').learnContinuationRefused('claude-opus-4-6');
    store.apply('openai', 'gpt-4o', { kind: 'output_limit', limit: 16384 });
    expect(heard).toEqual([
      ['openai', 'o3', { kind: 'param', param: 'stop' }],
      ['anthropic', 'claude-opus-4-6', { kind: 'no_continuation' }],
    ]);
    expect(store.forProvider('openai').outputLimit('gpt-4o')).toBe(16384);
    expect(store.forProvider('anthropic').refusedParams('o3').size).toBe(0);
    expect(store.forProvider('openai').refusesContinuation('claude-opus-4-6')).toBe(false);
  });
});
