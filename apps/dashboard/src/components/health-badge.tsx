import { HEALTH_LABEL, type Health } from '../lib/health.js';

export function HealthBadge({ health, reason }: { health: Health; reason?: string }) {
  return (
    <span class={`badge health-${health}`} title={reason}>
      {HEALTH_LABEL[health]}
    </span>
  );
}
