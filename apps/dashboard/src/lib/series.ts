import type { TrafficPoint } from '@conduit/sdk';

/** uPlot's data: the x values (seconds), then one column per series (null where there is no value). */
export type Columns = [number[], ...Array<Array<number | null>>];

/** The chosen fields of the traffic points as columns, x first. */
export function columns(points: readonly TrafficPoint[], fields: ReadonlyArray<(p: TrafficPoint) => number | null>): Columns {
  const x = points.map((p) => p.t);
  return [x, ...fields.map((f) => points.map((p) => f(p)))];
}

/** Errors per second of a point. */
export function errorRate(p: TrafficPoint, intervalS: number): number {
  return p.errors / intervalS;
}

/** Whether a series has anything to draw. */
export function hasData(points: readonly TrafficPoint[]): boolean {
  return points.some((p) => p.requests > 0);
}
