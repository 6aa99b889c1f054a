/**
 * What one provider's models were found to refuse or limit, learnt from their own answers: request
 * fields a model refused (reasoning_effort, stream_options, stop) and the most output tokens it takes.
 * Later requests to that model are shaped by them from the start, instead of costing a refused call
 * each time.
 *
 * Reads are synchronous: they happen on every request. A store shared by several instances (Redis)
 * keeps a local copy it refreshes, and writes through.
 */
export interface ModelFacts {
  /** The request fields `model` refused. */
  refusedParams(model: string): ReadonlySet<string>;
  learnRefusedParam(model: string, param: string): void;
  /** The most output tokens `model` takes, when one of its answers said so. */
  outputLimit(model: string): number | undefined;
  learnOutputLimit(model: string, limit: number): void;
  /** Everything learnt, model by model (for the dashboard). */
  snapshot?(): LearnedFacts[];
}

/** What was learnt about one model. */
export interface LearnedFacts {
  model: string;
  refusedParams: string[];
  outputLimit: number | null;
}

const NONE: ReadonlySet<string> = new Set();

/**
 * Facts in this process's memory. Bounded: model names are chosen by clients, so past `limit` models
 * what was learnt is forgotten (and learnt again from the next refusal).
 */
export class MemoryModelFacts implements ModelFacts {
  private readonly refused = new Map<string, Set<string>>();
  private readonly limits = new Map<string, number>();

  constructor(private readonly limit = 1000) {}

  refusedParams(model: string): ReadonlySet<string> {
    return this.refused.get(model) ?? NONE;
  }

  learnRefusedParam(model: string, param: string): void {
    let set = this.refused.get(model);
    if (!set) {
      if (this.refused.size >= this.limit) this.refused.clear();
      set = new Set();
      this.refused.set(model, set);
    }
    set.add(param);
  }

  outputLimit(model: string): number | undefined {
    return this.limits.get(model);
  }

  learnOutputLimit(model: string, limit: number): void {
    if (!this.limits.has(model) && this.limits.size >= this.limit) this.limits.clear();
    this.limits.set(model, limit);
  }

  snapshot(): LearnedFacts[] {
    const models = new Set([...this.refused.keys(), ...this.limits.keys()]);
    return [...models].map((model) => ({
      model,
      refusedParams: [...(this.refused.get(model) ?? [])].sort(),
      outputLimit: this.limits.get(model) ?? null,
    }));
  }
}
