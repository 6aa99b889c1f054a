import { formatUsd } from '../lib/format.js';
import type { Spend } from '../lib/budget.js';

/** Spend against a budget as a bar (a plain figure without a budget). */
export function BudgetBar({ spend }: { spend: Spend }) {
  if (spend.budget === null) return <span class="muted">{formatUsd(spend.spent)} this {spend.period}, no budget</span>;
  const pct = Math.round((spend.fraction ?? 0) * 100);
  const level = spend.over ? 'over' : pct >= 80 ? 'high' : 'ok';
  return (
    <div class="budget" title={`${formatUsd(spend.spent)} of ${formatUsd(spend.budget)} this ${spend.period}`}>
      <div class="bar" role="meter" aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct} aria-label={`spend against budget ${pct}%`}>
        <div class={`fill ${level}`} style={{ width: `${pct}%` }} />
      </div>
      <span class="budget-text">
        {formatUsd(spend.spent)} / {formatUsd(spend.budget)} per {spend.period}
      </span>
    </div>
  );
}

export function ProgressBar({ fraction, label }: { fraction: number; label: string }) {
  const pct = Math.round(fraction * 100);
  return (
    <div class="bar" role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct} aria-label={label}>
      <div class="fill ok" style={{ width: `${pct}%` }} />
    </div>
  );
}
