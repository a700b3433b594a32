// Why: a table of percentiles says how bad the tail was, not when; a plot of latency over time shows
// a stall, a warm-up or a slow drift at a glance, and opens in any browser with no tool installed.
// This draws a bench result's timeline as one self-contained SVG: throughput per bucket on top,
// p50, p99, p99.9 and max latency below on a log scale (a tail is orders of magnitude above the
// median). Pure: a result in, text out.
import type { BenchResult } from './report.ts';
import type { TimelinePoint } from './timeline.ts';

const width = 900;
const panelHeight = 220;
const margin = { left: 70, right: 130, top: 56, gap: 50, bottom: 40 };
const plotWidth = width - margin.left - margin.right;

const series: ReadonlyArray<{
  readonly key: 'p50Ms' | 'p99Ms' | 'p999Ms' | 'maxMs';
  readonly label: string;
  readonly color: string;
}> = [
  { key: 'p50Ms', label: 'p50', color: '#1f77b4' },
  { key: 'p99Ms', label: 'p99', color: '#ff7f0e' },
  { key: 'p999Ms', label: 'p99.9', color: '#d62728' },
  { key: 'maxMs', label: 'max', color: '#7f7f7f' },
];

const escapeXml = (text: string): string => text.replace(/[<>&"']/g, (character) => `&#${character.charCodeAt(0)};`);
const round = (value: number): string => (Math.round(value * 10) / 10).toString();

/** Powers of ten spanning [low, high]. */
function decades(low: number, high: number): number[] {
  const ticks: number[] = [];
  for (let exponent = Math.floor(Math.log10(low)); exponent <= Math.ceil(Math.log10(high)); exponent++)
    ticks.push(10 ** exponent);
  return ticks;
}

function polyline(points: ReadonlyArray<readonly [number, number]>, color: string): string {
  if (points.length === 0) return '';
  return `<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${points.map(([x, y]) => `${round(x)},${round(y)}`).join(' ')}"/>`;
}

function xOf(point: TimelinePoint, durationSeconds: number): number {
  return margin.left + ((point.atSeconds + point.bucketSeconds / 2) / durationSeconds) * plotWidth;
}

function throughputPanel(points: readonly TimelinePoint[], durationSeconds: number, top: number): string[] {
  const peak = Math.max(1, ...points.map((point) => point.opsPerSecond));
  const yOf = (ops: number): number => top + panelHeight - (ops / peak) * panelHeight;
  const parts = [
    `<text x="${margin.left}" y="${top - 8}" font-size="13">throughput (successful ops/s)</text>`,
    `<rect x="${margin.left}" y="${top}" width="${plotWidth}" height="${panelHeight}" fill="none" stroke="#ccc"/>`,
    `<text x="${margin.left - 6}" y="${top + 4}" font-size="11" text-anchor="end">${Math.round(peak)}</text>`,
    `<text x="${margin.left - 6}" y="${top + panelHeight}" font-size="11" text-anchor="end">0</text>`,
    polyline(
      points.map((point) => [xOf(point, durationSeconds), yOf(point.opsPerSecond)] as const),
      '#2ca02c',
    ),
  ];
  const errorBuckets = points.filter((point) => point.errors > 0);
  for (const point of errorBuckets)
    parts.push(
      `<line x1="${round(xOf(point, durationSeconds))}" x2="${round(xOf(point, durationSeconds))}" y1="${top + panelHeight - 6}" y2="${top + panelHeight}" stroke="#d62728" stroke-width="2"><title>${point.errors} errors</title></line>`,
    );
  return parts;
}

function latencyPanel(points: readonly TimelinePoint[], durationSeconds: number, top: number): string[] {
  const values = points.flatMap((point) => series.map((line) => point[line.key])).filter((value) => value > 0);
  const ticks = decades(Math.max(0.001, Math.min(...values, 1)), Math.max(...values, 1));
  const low = ticks[0] as number;
  const high = ticks[ticks.length - 1] as number;
  const span = Math.max(1e-9, Math.log10(high) - Math.log10(low));
  const yOf = (ms: number): number =>
    top + panelHeight - ((Math.log10(Math.max(ms, low)) - Math.log10(low)) / span) * panelHeight;
  const parts = [
    `<text x="${margin.left}" y="${top - 8}" font-size="13">latency (ms, log scale)</text>`,
    `<rect x="${margin.left}" y="${top}" width="${plotWidth}" height="${panelHeight}" fill="none" stroke="#ccc"/>`,
  ];
  for (const tick of ticks) {
    const y = round(yOf(tick));
    parts.push(
      `<line x1="${margin.left}" x2="${margin.left + plotWidth}" y1="${y}" y2="${y}" stroke="#eee"/>`,
      `<text x="${margin.left - 6}" y="${y}" font-size="11" text-anchor="end" dominant-baseline="middle">${tick}</text>`,
    );
  }
  series.forEach((line, index) => {
    const drawn = points
      .filter((point) => point[line.key] > 0)
      .map((point) => [xOf(point, durationSeconds), yOf(point[line.key])] as const);
    parts.push(polyline(drawn, line.color));
    const legendY = top + 14 + index * 18;
    parts.push(
      `<line x1="${width - margin.right + 12}" x2="${width - margin.right + 36}" y1="${legendY}" y2="${legendY}" stroke="${line.color}" stroke-width="2"/>`,
      `<text x="${width - margin.right + 42}" y="${legendY}" font-size="12" dominant-baseline="middle">${line.label}</text>`,
    );
  });
  return parts;
}

/** The whole SVG document for one result. */
export function renderTimelineSvg(result: BenchResult, title: string): string {
  const points = result.timeline;
  const durationSeconds = Math.max(
    result.elapsedSeconds,
    ...points.map((point) => point.atSeconds + point.bucketSeconds),
    1,
  );
  const latencyTop = margin.top + panelHeight + margin.gap;
  const height = latencyTop + panelHeight + margin.bottom;
  const axisY = height - margin.bottom + 18;
  const body = [
    `<text x="${margin.left}" y="20" font-size="15" font-weight="bold">${escapeXml(title)}</text>`,
    ...throughputPanel(points, durationSeconds, margin.top),
    ...latencyPanel(points, durationSeconds, latencyTop),
    `<text x="${margin.left}" y="${axisY}" font-size="11">0 s</text>`,
    `<text x="${margin.left + plotWidth}" y="${axisY}" font-size="11" text-anchor="end">${round(durationSeconds)} s</text>`,
  ];
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">\n<rect width="100%" height="100%" fill="white"/>\n${body.join('\n')}\n</svg>\n`;
}
