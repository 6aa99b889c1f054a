/**
 * What one provider's models were found to refuse or limit, learnt from their own answers: request
 * fields a model refused (reasoning_effort, stream_options, stop), the most output tokens it takes,
 * and whether it refuses to continue an answer (an assistant prefill, a prefix). Later requests to
 * that model are shaped by them from the start, instead of costing a refused call each time.
 *
 * Reads are synchronous: they happen on every request. With several instances sharing Redis each
 * keeps this local copy, and what one learns reaches the others (state/shared-state.ts).
 */
export interface ModelFacts {
  /** The request fields `model` refused. */
  refusedParams(model: string): ReadonlySet<string>;
  learnRefusedParam(model: string, param: string): void;
  /** The most output tokens `model` takes, when one of its answers said so. */
  outputLimit(model: string): number | undefined;
  learnOutputLimit(model: string, limit: number): void;
  /** `model` refused to continue an answer from a prefix of it ("does not support assistant message prefill"). */
  refusesContinuation(model: string): boolean;
  learnContinuationRefused(model: string): void;
  /** Everything learnt, model by model (for the dashboard). */
  snapshot(): LearnedFacts[];
}

/** What was learnt about one model. */
export interface LearnedFacts {
  model: string;
  refusedParams: string[];
  outputLimit: number | null;
  /** It refused to continue an answer (an assistant prefill, a prefix). */
  refusesContinuation: boolean;
}

/** One learnt fact, as it travels between instances. */
export type Fact = { kind: 'param'; param: string } | { kind: 'output_limit'; limit: number } | { kind: 'no_continuation' };

const NONE: ReadonlySet<string> = new Set();

/**
 * Facts in this process's memory. Bounded: model names are chosen by clients, so past `limit` models
 * what was learnt is forgotten (and learnt again from the next refusal). `onLearn` hears of every
 * fact learnt here (not of those applied from another instance).
 */
export class MemoryModelFacts implements ModelFacts {
  private readonly refused = new Map<string, Set<string>>();
  private readonly limits = new Map<string, number>();
  private readonly noContinuation = new Set<string>();

  constructor(
    private readonly limit = 1000,
    private readonly onLearn?: (model: string, fact: Fact) => void,
  ) {}

  refusedParams(model: string): ReadonlySet<string> {
    return this.refused.get(model) ?? NONE;
  }

  learnRefusedParam(model: string, param: string): void {
    if (this.apply(model, { kind: 'param', param })) this.onLearn?.(model, { kind: 'param', param });
  }

  outputLimit(model: string): number | undefined {
    return this.limits.get(model);
  }

  learnOutputLimit(model: string, limit: number): void {
    if (this.apply(model, { kind: 'output_limit', limit })) this.onLearn?.(model, { kind: 'output_limit', limit });
  }

  refusesContinuation(model: string): boolean {
    return this.noContinuation.has(model);
  }

  learnContinuationRefused(model: string): void {
    if (this.apply(model, { kind: 'no_continuation' })) this.onLearn?.(model, { kind: 'no_continuation' });
  }

  snapshot(): LearnedFacts[] {
    const models = new Set([...this.refused.keys(), ...this.limits.keys(), ...this.noContinuation]);
    return [...models].map((model) => ({
      model,
      refusedParams: [...(this.refused.get(model) ?? [])].sort(),
      outputLimit: this.limits.get(model) ?? null,
      refusesContinuation: this.noContinuation.has(model),
    }));
  }

  /** Records a fact (learnt here or by another instance); false when it was known already. */
  apply(model: string, fact: Fact): boolean {
    switch (fact.kind) {
      case 'param': {
        let set = this.refused.get(model);
        if (set?.has(fact.param)) return false;
        if (!set) {
          if (this.refused.size >= this.limit) this.refused.clear();
          set = new Set();
          this.refused.set(model, set);
        }
        set.add(fact.param);
        return true;
      }
      case 'output_limit':
        if (this.limits.get(model) === fact.limit) return false;
        if (!this.limits.has(model) && this.limits.size >= this.limit) this.limits.clear();
        this.limits.set(model, fact.limit);
        return true;
      case 'no_continuation':
        if (this.noContinuation.has(model)) return false;
        if (this.noContinuation.size >= this.limit) this.noContinuation.clear();
        this.noContinuation.add(model);
        return true;
    }
  }
}

/** Every provider's facts, by provider name. */
export interface FactsStore {
  forProvider(provider: string): ModelFacts;
}

/**
 * Facts per provider, in memory. `onLearn` hears of every fact learnt in this process (to share it);
 * `apply` records one learnt elsewhere.
 */
export class MemoryFactsStore implements FactsStore {
  private readonly byProvider = new Map<string, MemoryModelFacts>();

  constructor(
    private readonly limit = 1000,
    private readonly onLearn?: (provider: string, model: string, fact: Fact) => void,
  ) {}

  forProvider(provider: string): MemoryModelFacts {
    let facts = this.byProvider.get(provider);
    if (!facts) {
      const onLearn = this.onLearn;
      facts = new MemoryModelFacts(this.limit, onLearn && ((model, fact) => onLearn(provider, model, fact)));
      this.byProvider.set(provider, facts);
    }
    return facts;
  }

  apply(provider: string, model: string, fact: Fact): void {
    this.forProvider(provider).apply(model, fact);
  }
}
