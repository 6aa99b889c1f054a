import type { ProviderConfig } from '../config/schema.js';
import type { AttemptKey } from '../providers/types.js';

/**
 * Weighted random choice among the keys that serve `model`. A provider without keys forwards the
 * client's own credential (AttemptKey without a value).
 */
export function chooseKey(providerName: string, config: ProviderConfig, model: string, random = Math.random): AttemptKey {
  const keys = config.keys;
  if (keys.length === 0) return { id: `${providerName}#client` };
  let total = 0;
  const eligible: number[] = [];
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    if (k.models && !k.models.includes(model)) continue;
    eligible.push(i);
    total += k.weight;
  }
  if (eligible.length === 0) return { id: `${providerName}#client` };
  let pick = random() * total;
  for (const i of eligible) {
    pick -= keys[i]!.weight;
    if (pick < 0) return { id: `${providerName}#${i}`, value: keys[i]!.value };
  }
  const last = eligible[eligible.length - 1]!;
  return { id: `${providerName}#${last}`, value: keys[last]!.value };
}
