// Why: the examples in docs/API.md, docs/CLIENT.md and the README are what a new user copies first,
// and nothing kept them true: a changed header, status or message made them lie silently. A fenced
// block right after the marker `<!-- checked-example -->` is run against a real cluster by
// test/integration/documented-examples.test.ts, and its documented output is compared with what
// happens. This module holds the parts that need no cluster: finding the blocks, splitting a
// transcript into commands and outputs, and comparing an output with what the docs show. The
// rules of the comparison (what is exact, what may vary) are in docs/API.md "Examples".

/** The HTML comment (invisible when rendered) that marks the next fenced block as checked. */
export const exampleMarker = '<!-- checked-example -->';
/**
 * The marker naming what the cluster must be like for the example, which the prose around it says
 * in words: `<!-- checked-example: n3 down -->`. The test sets it up before and undoes it after.
 */
const conditionalMarker = /^<!-- checked-example: ([a-z0-9 ]+) -->$/;

export interface DocExample {
  readonly file: string;
  /** 1-based line of the opening fence, for failure messages. */
  readonly line: number;
  /** The fence's info string: '' or 'console' (a transcript), 'sh' (a script), 'ts' (a program). */
  readonly language: string;
  readonly text: string;
  /** What the cluster must be like (conditionalMarker), or undefined for the cluster as started. */
  readonly condition: string | undefined;
}

/** undefined when the line is no marker, '' for the plain marker, else the condition it names. */
function markerCondition(line: string): string | undefined {
  if (line === exampleMarker) return '';
  return conditionalMarker.exec(line)?.[1];
}

/** Every fenced block that follows the marker line, in document order. */
export function extractExamples(file: string, markdown: string): DocExample[] {
  const lines = markdown.split('\n');
  const examples: DocExample[] = [];
  for (let index = 0; index < lines.length; index += 1) {
    const condition = markerCondition(lines[index]?.trim() ?? '');
    if (condition === undefined) continue;
    const fence = lines[index + 1] ?? '';
    if (!fence.startsWith('```'))
      throw new Error(`${file}:${index + 1}: ${exampleMarker} must be followed by a fenced block`);
    const end = lines.findIndex((line, at) => at > index + 1 && line.startsWith('```'));
    if (end < 0) throw new Error(`${file}:${index + 2}: unterminated fenced block`);
    examples.push({
      file,
      line: index + 2,
      language: fence.slice(3).trim(),
      text: lines.slice(index + 2, end).join('\n'),
      condition: condition === '' ? undefined : condition,
    });
    index = end;
  }
  return examples;
}

/** A `ts` example's `// prints: <line>` comments, in order: what its standard output must be, line by line. */
export function expectedPrints(program: string): string[] {
  return [...program.matchAll(/\/\/ prints: (.*)$/gm)].map((match) => (match[1] as string).trimEnd());
}

export interface TranscriptStep {
  readonly command: string;
  readonly expected: string;
}

/**
 * A redis-cli prompt as an interactive session shows it (`127.0.0.1:6381> SET k v`): the line after
 * it is run as `redis-cli -p 6381 SET k v`, which prints what the session shows on a terminal.
 */
const redisCliPrompt = /^127\.0\.0\.1:(\d+)> (.+)$/;

/**
 * `$ command` lines (a trailing backslash continues one), or redis-cli prompt lines, and the output
 * documented under each.
 */
export function parseTranscript(text: string): TranscriptStep[] {
  const steps: Array<{ command: string; expected: string[] }> = [];
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index += 1) {
    const line = lines[index] as string;
    const prompt = redisCliPrompt.exec(line);
    if (prompt !== null) {
      steps.push({ command: `redis-cli -p ${prompt[1] as string} ${prompt[2] as string}`, expected: [] });
    } else if (line.startsWith('$ ')) {
      let command = line.slice(2);
      while (command.endsWith('\\') && index + 1 < lines.length) {
        index += 1;
        command = `${command.slice(0, -1)}${lines[index] as string}`;
      }
      steps.push({ command, expected: [] });
    } else if (steps.length > 0) {
      steps.at(-1)?.expected.push(line);
    }
  }
  return steps.map((step) => ({ command: step.command, expected: trimBlankEnds(step.expected).join('\n') }));
}

function trimBlankEnds(lines: string[]): string[] {
  let start = 0;
  let end = lines.length;
  while (start < end && lines[start]?.trim() === '') start += 1;
  while (end > start && lines[end - 1]?.trim() === '') end -= 1;
  return lines.slice(start, end);
}

/**
 * Documented causal contexts and ETags stand for whatever the real run answered at the same
 * place: the first sighting binds one to the other, and every later one must agree (the same
 * documented token twice means the same real token twice). Commands get the real tokens.
 */
export class TokenBindings {
  private readonly real = new Map<string, string>();

  bind(documented: string, actual: string, where: string): void {
    const bound = this.real.get(documented);
    if (bound === undefined) {
      this.real.set(documented, actual);
      return;
    }
    if (bound !== actual)
      throw new Error(
        `${where}: the docs show ${documented} again, but the run answered a different token (${actual}, first ${bound})`,
      );
  }

  /** Every documented token and the real one it stands for, for rewriting an example from a run. */
  entries(): Array<[string, string]> {
    return [...this.real.entries()];
  }

  /** `command` with every documented token the run has bound replaced by its real one, longest first. */
  substitute(command: string): string {
    let result = command;
    for (const documented of [...this.real.keys()].sort((a, b) => b.length - a.length))
      result = result.split(documented).join(this.real.get(documented) as string);
    return result;
  }
}

/** Headers whose values change from run to run; the docs show one run's. */
const volatileHeaders = new Set(['date', 'last-modified', 'content-length', 'keep-alive']);
/** Headers and JSON fields that carry tokens bound through TokenBindings. */
const tokenHeaders = new Set(['x-everwrite-context', 'etag']);
const tokenFields = new Set(['context', 'etag']);
/**
 * JSON fields whose values change from run to run: compared by type only. A view's digest covers
 * the members' addresses, which the test moves to its own ports.
 */
const volatileFields = new Set(['lastModified', 'lastHeardAgoMs', 'lastExchangeAgoMs', 'incarnation', 'digest']);
/**
 * A documented JSON value `...` (outside strings) stands for any value there; in an array, for any
 * number of elements there (those before it must match the first actual ones, those after the
 * last). It is read as this string, which no real answer carries.
 */
const elided = '\u0000elided';

/**
 * ANSI select-graphic-rendition sequences (bold, colours), as curl writes header names on a
 * terminal, and OSC 8 hyperlinks (opening and closing), as it writes a Location header.
 */
const terminalStyle = new RegExp(
  `${String.fromCharCode(27)}\\[[0-9;]*m|${String.fromCharCode(27)}\\]8;;[^${String.fromCharCode(27)}]*${String.fromCharCode(27)}\\\\`,
  'g',
);
const isoDate = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z/g;
const httpDate = /[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT/g;
/** Text lines that print a context: `context: <token> ...` and a line that is only a token. */
const contextLine = /^(context: )([A-Za-z0-9_-]+)(.*)$/;
const tokenOnlyLine = /^[A-Za-z0-9_-]{20,}$/;
/** A token as redis-cli prints a bulk string on a terminal: quoted, maybe after array indices (`1) "..."`). */
const redisTokenLine = /^((?:\s*\d+\) )*)"([A-Za-z0-9_-]{20,})"$/;

function normaliseDates(text: string): string {
  return text.replace(isoDate, '<date>').replace(httpDate, '<date>');
}

function fail(where: string, message: string, expected: string, actual: string): never {
  throw new Error(`${where}: ${message}\n--- documented ---\n${expected}\n--- actual ---\n${actual}`);
}

/** Same shape: the same keys and types, equal strings and numbers except volatile and token fields. */
function compareJson(documented: unknown, actual: unknown, bindings: TokenBindings, where: string, path: string): void {
  if (documented === elided) return;
  if (Array.isArray(documented)) {
    compareJsonArray(documented, actual, bindings, where, path);
    return;
  }
  if (documented !== null && typeof documented === 'object') {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual))
      throw new Error(`${where}: ${path} should be an object, got ${JSON.stringify(actual)}`);
    const documentedKeys = Object.keys(documented).sort();
    const actualKeys = Object.keys(actual).sort();
    if (documentedKeys.join() !== actualKeys.join())
      throw new Error(
        `${where}: ${path} has keys ${actualKeys.join(', ')}; the docs show ${documentedKeys.join(', ')}`,
      );
    for (const key of documentedKeys) {
      const documentedValue = (documented as Record<string, unknown>)[key];
      const actualValue = (actual as Record<string, unknown>)[key];
      if (volatileFields.has(key) && typeof documentedValue === typeof actualValue) continue;
      if (tokenFields.has(key) && typeof documentedValue === 'string' && typeof actualValue === 'string') {
        bindings.bind(documentedValue, actualValue, `${where} ${path}.${key}`);
        continue;
      }
      compareJson(documentedValue, actualValue, bindings, where, `${path}.${key}`);
    }
    return;
  }
  if (documented !== actual)
    throw new Error(`${where}: ${path} is ${JSON.stringify(actual)}; the docs show ${JSON.stringify(documented)}`);
}

/** Arrays element by element; a documented `...` element stands for any number of actual ones. */
function compareJsonArray(
  documented: readonly unknown[],
  actual: unknown,
  bindings: TokenBindings,
  where: string,
  path: string,
): void {
  const gap = documented.indexOf(elided);
  const head = gap < 0 ? documented : documented.slice(0, gap);
  const tail = gap < 0 ? [] : documented.slice(documented.lastIndexOf(elided) + 1);
  const lengthOk =
    Array.isArray(actual) &&
    (gap < 0 ? actual.length === documented.length : actual.length >= head.length + tail.length);
  if (!lengthOk)
    throw new Error(
      `${where}: ${path} should be an array of ${gap < 0 ? '' : 'at least '}${head.length + tail.length}, got ${JSON.stringify(actual)}`,
    );
  head.forEach((item, index) => compareJson(item, actual[index], bindings, where, `${path}[${index}]`));
  const tailStart = actual.length - tail.length;
  tail.forEach((item, index) =>
    compareJson(item, actual[tailStart + index], bindings, where, `${path}[${tailStart + index}]`),
  );
}

/** Documented JSON with each `...` outside strings read as the elided marker. */
function parseDocumentedJson(text: string): unknown {
  let result = '';
  let inString = false;
  for (let index = 0; index < text.length; index += 1) {
    const character = text[index] as string;
    if (inString) {
      result += character;
      if (character === '\\') result += text[++index] ?? '';
      else if (character === '"') inString = false;
    } else if (text.startsWith('...', index)) {
      result += JSON.stringify(elided);
      index += 2;
    } else {
      inString = character === '"';
      result += character;
    }
  }
  return parseJson(result);
}

/**
 * The docs wrap a long JSON answer over lines (the continuation lines indented); the run prints it
 * on one. Joins each such documented answer back into one line, for compareLine.
 */
function joinWrappedJson(lines: readonly string[]): string[] {
  const joined: string[] = [];
  for (let index = 0; index < lines.length; index += 1) {
    let line = lines[index] as string;
    let end = index;
    if (line.trimStart().startsWith('{')) {
      while (
        parseDocumentedJson(line) === undefined &&
        end + 1 < lines.length &&
        /^\s/.test(lines[end + 1] as string)
      ) {
        end += 1;
        line += (lines[end] as string).trim();
      }
    }
    if (parseDocumentedJson(line) === undefined) end = index;
    joined.push(end === index ? (lines[index] as string) : line);
    index = end;
  }
  return joined;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** One documented line against one actual line: JSON by shape, contexts bound, dates ignored, the rest exact. */
function compareLine(documented: string, actual: string, bindings: TokenBindings, where: string): boolean {
  const documentedJson = documented.trimStart().startsWith('{') ? parseDocumentedJson(documented) : undefined;
  if (documentedJson !== undefined) {
    const actualJson = parseJson(actual);
    if (actualJson === undefined) return false;
    compareJson(documentedJson, actualJson, bindings, where, '$');
    return true;
  }
  const documentedContext = contextLine.exec(documented);
  const actualContext = contextLine.exec(actual);
  if (documentedContext !== null && actualContext !== null) {
    if (normaliseDates(documentedContext[3] as string) !== normaliseDates(actualContext[3] as string)) return false;
    bindings.bind(documentedContext[2] as string, actualContext[2] as string, where);
    return true;
  }
  if (tokenOnlyLine.test(documented) && tokenOnlyLine.test(actual)) {
    bindings.bind(documented, actual, where);
    return true;
  }
  const documentedRedisToken = redisTokenLine.exec(documented);
  const actualRedisToken = redisTokenLine.exec(actual);
  if (documentedRedisToken !== null && actualRedisToken !== null && documentedRedisToken[1] === actualRedisToken[1]) {
    bindings.bind(documentedRedisToken[2] as string, actualRedisToken[2] as string, where);
    return true;
  }
  return normaliseDates(documented) === normaliseDates(actual);
}

/**
 * Lines in order; a documented `...` line skips actual lines up to the one matching the next
 * documented line (or all the rest when it is last).
 */
function compareLines(
  documented: readonly string[],
  actual: readonly string[],
  bindings: TokenBindings,
  where: string,
  expected: string,
  received: string,
): void {
  let position = 0;
  for (let index = 0; index < documented.length; index += 1) {
    const line = documented[index] as string;
    if (line.trim() === '...') {
      const next = documented[index + 1];
      if (next === undefined) return;
      while (position < actual.length && !compareLine(next, actual[position] as string, bindings, where)) position += 1;
      if (position >= actual.length) fail(where, `no line matches ${JSON.stringify(next)}`, expected, received);
      position += 1;
      index += 1;
      continue;
    }
    if (position >= actual.length || !compareLine(line, actual[position] as string, bindings, where))
      fail(
        where,
        `line ${JSON.stringify(actual[position] ?? '<none>')} does not match ${JSON.stringify(line)}`,
        expected,
        received,
      );
    position += 1;
  }
  if (position < actual.length)
    fail(
      where,
      `the run printed more than the docs show (from ${JSON.stringify(actual[position])}); end the docs with ... if that is meant`,
      expected,
      received,
    );
}

interface HttpMessage {
  readonly statusLine: string;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  /** The docs' `...` among headers: the listed ones must be there, others may be too. */
  readonly headersElided: boolean;
  readonly body: string[];
}

function parseHttpMessage(lines: readonly string[]): HttpMessage {
  const blank = lines.findIndex((line) => line.trim() === '');
  const head = blank < 0 ? lines : lines.slice(0, blank);
  const headers: Array<[string, string]> = [];
  let headersElided = false;
  for (const line of head.slice(1)) {
    if (line.trim() === '...') {
      headersElided = true;
      continue;
    }
    const colon = line.indexOf(':');
    headers.push([line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()]);
  }
  return {
    statusLine: head[0] ?? '',
    headers,
    headersElided,
    body: blank < 0 ? [] : trimBlankEnds(lines.slice(blank + 1)),
  };
}

/** An HTTP answer as `curl -si` prints it: status line exact, headers by name, the body as lines. */
function compareHttp(
  documented: HttpMessage,
  actual: HttpMessage,
  bindings: TokenBindings,
  where: string,
  expected: string,
  received: string,
): void {
  if (documented.statusLine !== actual.statusLine)
    fail(
      where,
      `status line ${JSON.stringify(actual.statusLine)}; the docs show ${JSON.stringify(documented.statusLine)}`,
      expected,
      received,
    );
  const actualHeaders = new Map(actual.headers);
  for (const [name, value] of documented.headers) {
    const actualValue = actualHeaders.get(name);
    if (actualValue === undefined) fail(where, `the answer has no ${name} header`, expected, received);
    if (tokenHeaders.has(name)) bindings.bind(value, actualValue, `${where} ${name}`);
    else if (!volatileHeaders.has(name) && value !== actualValue)
      fail(
        where,
        `${name} is ${JSON.stringify(actualValue)}; the docs show ${JSON.stringify(value)}`,
        expected,
        received,
      );
  }
  if (!documented.headersElided) {
    const documentedNames = new Set(documented.headers.map(([name]) => name));
    const extra = actual.headers.map(([name]) => name).filter((name) => !documentedNames.has(name));
    if (extra.length > 0)
      fail(
        where,
        `the answer has headers the docs do not show: ${extra.join(', ')} (list them, or add a ... line)`,
        expected,
        received,
      );
  }
  compareLines(documented.body, actual.body, bindings, where, expected, received);
}

/** Compares one step's output with the documented one; throws naming `where` on any difference. */
export function compareOutput(expected: string, received: string, bindings: TokenBindings, where: string): void {
  const documentedLines = expected === '' ? [] : joinWrappedJson(expected.split('\n'));
  // A terminal's line ends (\r\n, \r\r\n through a pty) and curl's bold header names are presentation, not output.
  const actualLines = trimBlankEnds(received.replace(terminalStyle, '').replace(/\r+\n/g, '\n').split('\n'));
  if (documentedLines[0]?.startsWith('HTTP/1.1 ')) {
    compareHttp(parseHttpMessage(documentedLines), parseHttpMessage(actualLines), bindings, where, expected, received);
    return;
  }
  compareLines(documentedLines, actualLines, bindings, where, expected, received);
}
