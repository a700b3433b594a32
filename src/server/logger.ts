// Why: a node's log is what an operator reads after an incident, and what a log pipeline parses.
// So it is JSON lines (pino) by default, one line per thing worth investigating with a stable
// `event` field (docs/OPERATIONS.md "Logs"), and a short human line per record when stdout is a
// terminal (no pino-pretty dependency: the format below is enough to read). Secrets never reach it:
// any field named like a secret is replaced before the line is written, wherever it is nested.
import { pino, type DestinationStream, type Logger } from 'pino';

const secretNames = ['secret', 'clusterSecret', 'password', 'authorization'];
/** Field paths censored in every line: the cluster secret under any name a caller might use, up to two objects deep. */
export const redactedPaths: readonly string[] = secretNames.flatMap((name) => [name, `*.${name}`, `*.*.${name}`]);

export interface NodeLoggerOptions {
  readonly level: string;
  readonly nodeId: string;
  /** Where lines go; default stdout. */
  readonly stream?: NodeJS.WritableStream & { readonly isTTY?: boolean };
  /** Human-readable lines instead of JSON; default: whether the stream is a terminal. */
  readonly pretty?: boolean;
}

const levelNames: Readonly<Record<number, string>> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};
/** Fields the human line shows in its own place, not as key=value. */
const placedFields = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'event', 'node']);

/** One JSON log record as a terminal line: `12:00:01.234 WARN  n1 member_down  member n3 is down  member=n3 ...`. */
export function humanLine(json: string): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const time = typeof record.time === 'number' ? new Date(record.time).toISOString().slice(11, 23) : '';
  const level = (levelNames[record.level as number] ?? String(record.level)).padEnd(5);
  const fields = Object.entries(record)
    .filter(([name]) => !placedFields.has(name))
    .map(([name, value]) => `${name}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' ');
  const event = typeof record.event === 'string' ? ` ${record.event} ` : ' ';
  return `${time} ${level} ${String(record.node ?? '')}${event} ${String(record.msg ?? '')}${fields === '' ? '' : `  ${fields}`}\n`;
}

/** A pino destination that rewrites each JSON line as a human one. */
function prettyDestination(stream: NodeJS.WritableStream): DestinationStream {
  return { write: (line: string) => stream.write(humanLine(line)) };
}

export function createNodeLogger(options: NodeLoggerOptions): Logger {
  const stream = options.stream ?? process.stdout;
  const pretty = options.pretty ?? stream.isTTY === true;
  const settings = {
    level: options.level,
    base: { node: options.nodeId },
    redact: { paths: [...redactedPaths], censor: '[redacted]' },
  };
  if (pretty) return pino(settings, prettyDestination(stream));
  // pino's own stdout destination unless the caller gave a stream (tests read the lines).
  return options.stream === undefined ? pino(settings) : pino(settings, stream as DestinationStream);
}
