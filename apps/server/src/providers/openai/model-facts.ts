// The learnt-facts store is shared by every provider type (state/model-facts.ts); this path stays for its importers.
export { MemoryModelFacts, type LearnedFacts, type ModelFacts } from '../../state/model-facts.js';
