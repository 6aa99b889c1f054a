import { calcPrice, findProvider } from '@pydantic/genai-prices';
import { describe, expect, it } from 'vitest';
import { catalogueProvider, PriceBook } from './prices.js';

const anthropic = { type: 'anthropic' as const };
const usages = [
  { input: 1000, output: 100, cacheRead: 0, cacheWrite: 0 },
  { input: 12, output: 3000, cacheRead: 50_000, cacheWrite: 4_000 },
  // Past the 200k-token tier of the long-context models.
  { input: 150_000, output: 2_000, cacheRead: 60_000, cacheWrite: 10_000 },
];

describe('PriceBook', () => {
  it('computes what the catalogue computes, for every Anthropic, OpenAI and Groq model it prices without dates', () => {
    let compared = 0;
    for (const id of ['anthropic', 'openai', 'groq']) {
      const provider = findProvider({ providerId: id })!;
      const book = new PriceBook({}, { [id]: { type: id === 'anthropic' ? 'anthropic' : 'openai' } });
      for (const model of provider.models) {
        if (Array.isArray(model.prices)) continue;
        for (const u of usages) {
          const expected = calcPrice(
            { input_tokens: u.input + u.cacheRead + u.cacheWrite, cache_read_tokens: u.cacheRead, cache_write_tokens: u.cacheWrite, output_tokens: u.output },
            model.id,
            { provider },
          );
          if (!expected) continue;
          expect(book.cost(id, model.id, u), `${id}/${model.id}`).toBeCloseTo(expected.total_price, 10);
          compared++;
        }
      }
    }
    expect(compared).toBeGreaterThan(100);
  });

  it('prices the current Claude models, dated ids included, with the long-context tier', () => {
    const book = new PriceBook({}, { anthropic });
    expect(book.cost('anthropic', 'claude-haiku-4-5', { input: 1_000_000, output: 1_000_000, cacheRead: 0, cacheWrite: 0 })).toBeCloseTo(1 + 5, 10);
    expect(book.cost('anthropic', 'claude-sonnet-4-5-20250929', { input: 1000, output: 1000, cacheRead: 0, cacheWrite: 0 })).toBeCloseTo(0.003 + 0.015, 10);
    // 250k input tokens: every token at the >200k price (6 and 22.5 per million).
    expect(book.cost('anthropic', 'claude-sonnet-4-5', { input: 250_000, output: 1000, cacheRead: 0, cacheWrite: 0 })).toBeCloseTo(1.5 + 0.0225, 10);
  });

  it('lets config pricing override the catalogue, cache prices defaulting to the input price', () => {
    const book = new PriceBook({ 'anthropic/claude-haiku-4-5': { input_per_mtok: 10, output_per_mtok: 20 } }, { anthropic });
    expect(book.cost('anthropic', 'claude-haiku-4-5', { input: 1000, output: 1000, cacheRead: 1000, cacheWrite: 1000 })).toBeCloseTo(0.01 + 0.02 + 0.01 + 0.01, 10);
  });

  it('has no price for unknown models and for unknown providers', () => {
    const book = new PriceBook({}, { anthropic, local: { type: 'openai', base_url: 'http://127.0.0.1:11434/v1' } });
    expect(book.cost('anthropic', 'no-such-model', usages[0]!)).toBeNull();
    expect(book.cost('local', 'llama3', usages[0]!)).toBeNull();
    expect(book.has('anthropic', 'claude-haiku-4-5')).toBe(true);
    expect(book.has('local', 'llama3')).toBe(false);
  });

  it('finds the catalogue provider by URL, then by name; a loopback URL is not a vendor', () => {
    expect(catalogueProvider('fast', { type: 'openai', base_url: 'https://api.groq.com/openai/v1' })?.id).toBe('groq');
    expect(catalogueProvider('xai', { type: 'openai' })?.id).toBe('x-ai');
    expect(catalogueProvider('anthropic', { type: 'anthropic', base_url: 'http://127.0.0.1:9999' })?.id).toBe('anthropic');
    expect(catalogueProvider('proxy', { type: 'anthropic', base_url: 'http://127.0.0.1:9999' })?.id).toBe('anthropic');
    expect(catalogueProvider('vllm', { type: 'openai', base_url: 'http://127.0.0.1:8000/v1' })).toBeUndefined();
  });

  it('a ceiling is never below the cost of a request within it', () => {
    const book = new PriceBook({}, { anthropic });
    for (const model of ['claude-haiku-4-5', 'claude-sonnet-4-5', 'claude-opus-4-1']) {
      for (const u of usages) {
        const prompt = u.input + u.cacheRead + u.cacheWrite;
        expect(book.ceiling('anthropic', model, prompt, u.output)!).toBeGreaterThanOrEqual(book.cost('anthropic', model, u)!);
      }
    }
  });
});
