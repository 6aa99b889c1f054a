import { configuredContinuation } from '../config/continuation.js';
import type { ContinuationMode } from '../config/schema.js';
import type { Provider } from '../providers/types.js';

/** How `provider` continues an answer on `model`: its own say (bedrock: per model), else its config's. */
export function continuationModeOf(provider: Pick<Provider, 'config' | 'continuationMode'>, model: string): ContinuationMode {
  return provider.continuationMode ? provider.continuationMode(model) : configuredContinuation(provider.config);
}
