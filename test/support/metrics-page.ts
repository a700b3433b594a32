// Why: tests that scrape a node's /metrics read single samples and sums of labelled series out of
// the Prometheus text format; one parser here rather than one per test file.

const sampleLine = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;

interface Sample {
  readonly name: string;
  readonly labels: ReadonlyMap<string, string>;
  readonly value: number;
}

/** Every sample of the page, with its labels. */
export function samplesOf(page: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of page.split('\n')) {
    const match = sampleLine.exec(line);
    if (match === null) continue;
    const labels = new Map(
      [...(match[2] ?? '').matchAll(/([a-zA-Z_]+)="([^"]*)"/g)].map(
        (pair) => [pair[1] as string, pair[2] as string] as const,
      ),
    );
    samples.push({ name: match[1] as string, labels, value: Number(match[3]) });
  }
  return samples;
}

/** Sum of every sample of `name` whose labels include these (0 when none). */
export function sumOf(page: string, name: string, labels: Readonly<Record<string, string>> = {}): number {
  let total = 0;
  for (const sample of samplesOf(page)) {
    if (sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels.get(key) === value))
      total += sample.value;
  }
  return total;
}

/** The distinct values label `label` takes in the samples of `name`. */
export function labelValuesOf(page: string, name: string, label: string): Set<string> {
  const values = new Set<string>();
  for (const sample of samplesOf(page)) {
    const value = sample.labels.get(label);
    if (sample.name === name && value !== undefined) values.add(value);
  }
  return values;
}

/** The value of the one sample of `name` with exactly these labels (in any order); 0 when absent. */
export function sampleOf(page: string, name: string, labels: Readonly<Record<string, string>> = {}): number {
  const wanted = Object.entries(labels);
  const found = samplesOf(page).find(
    (sample) =>
      sample.name === name &&
      sample.labels.size === wanted.length &&
      wanted.every(([key, value]) => sample.labels.get(key) === value),
  );
  return found?.value ?? 0;
}
