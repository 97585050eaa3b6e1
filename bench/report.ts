/**
 * Shape of benchmark results. Each area's bench module exports `run(): Promise<BenchSection>`;
 * bench/main.ts prints them as one markdown report and writes JSON to bench-report.json.
 */
export interface BenchFigure {
  metric: string;
  value: number;
  unit: string;
  /** Human-readable target, e.g. "≥ 100000". */
  target?: string;
  /** Whether the target was met (omit when there is no target). */
  pass?: boolean;
}

export interface BenchSection {
  name: string;
  figures: BenchFigure[];
  notes?: string[];
}
