// Why: `everwrite start` takes each setting from a flag, a --config JSON file or an EVERWRITE_*
// variable. One schema checks all three the same way (type, range, form) and a wrong value is
// refused before the node starts, naming the setting and where it came from (docs/OPERATIONS.md
// "Configuration file"); a config file's unknown key is refused by its name. Without it a typo was
// silently ignored and "seeds" as a JSON array stopped the node with a TypeError.
import { parseCorsOrigins } from '../api/http/cors.ts';
import type { EngineKind } from '../io/storage/index.ts';
import { isPlainObject } from '../server/json-flag.ts';
import { parseLimitsJson, type NodeLimits } from '../server/node-limits.ts';
import type { ClusterMember, HostPort, TlsPorts } from '../server/start-node.ts';
import { parseSeed, parseWeight } from '../server/view-boot.ts';
import { UsageError } from './exit-codes.ts';

/** The settings, by their config-file key; the flag is the key in kebab case, the variable EVERWRITE_ in snake case. */
export const startSettingNames = [
  'nodeId',
  'listen',
  'http',
  'resp',
  'data',
  'seeds',
  'engine',
  'secretFile',
  'partitions',
  'zone',
  'weight',
  'logLevel',
  'settingsJson',
  'limitsJson',
  'tls',
  'tlsCertFile',
  'tlsKeyFile',
  'tlsCaFile',
  'corsOrigins',
  'insecure',
  'metricsPublic',
] as const;
export type StartSettingName = (typeof startSettingNames)[number];

export const engineKinds: readonly EngineKind[] = ['lmdb', 'level', 'memory'];
export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
/** As src/core/ring/ring.ts allows. */
export const partitionsMax = 16_384;
const textBytesMax = 4096;

export const flagOf = (name: string): string => `--${name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}`;
export const environmentVariableOf = (name: string): string =>
  `EVERWRITE_${name.replace(/[A-Z]/g, (letter) => `_${letter}`).toUpperCase()}`;

/** Runs a parser whose Error messages are plain; the message gets the setting's origin in front. */
function checked<T>(where: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new UsageError(`${where}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function text(value: unknown): string {
  if (typeof value !== 'string') throw new Error(`must be a string, got ${JSON.stringify(value)}`);
  if (value.length > textBytesMax) throw new Error(`must be at most ${textBytesMax} characters`);
  return value;
}

function nonEmptyText(value: unknown): string {
  if (text(value).trim() === '') throw new Error('must not be empty');
  return value as string;
}

export function parseHostPort(value: unknown): HostPort {
  const match = /^(.*):(\d{1,5})$/.exec(text(value).trim());
  const port = match ? Number(match[2]) : NaN;
  if (!match || match[1] === '' || port > 65535)
    throw new Error(`must be HOST:PORT with a port from 0 to 65535, got ${JSON.stringify(value)}`);
  return { host: match[1] as string, port };
}

function oneOf<T extends string>(choices: readonly T[]): (value: unknown) => T {
  return (value) => {
    if (typeof value !== 'string' || !(choices as readonly string[]).includes(value))
      throw new Error(`must be one of ${choices.join(', ')}, got ${JSON.stringify(value)}`);
    return value as T;
  };
}

/** A whole number from a JSON number or from decimal text (flags and variables are text). */
function wholeNumber(value: unknown): number {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  if (typeof value === 'string' && /^\s*\d{1,15}\s*$/.test(value)) return Number(value);
  throw new Error(`must be a whole number, got ${JSON.stringify(value)}`);
}

function partitionCount(value: unknown): number {
  const count = wholeNumber(value);
  if (count < 1 || count > partitionsMax || (count & (count - 1)) !== 0)
    throw new Error(`must be a power of two from 1 to ${partitionsMax}, got ${count}`);
  return count;
}

/** A comma-separated list (flags, variables) or a JSON array of seed strings (config file). */
export function parseSeedList(value: unknown): ClusterMember[] {
  if (Array.isArray(value)) {
    return value.map((entry, index) => {
      if (typeof entry !== 'string')
        throw new Error(`entry ${index} must be a string like "n1@127.0.0.1:7001", got ${JSON.stringify(entry)}`);
      return parseSeed(entry);
    });
  }
  if (typeof value !== 'string')
    throw new Error(`must be a comma-separated string or a JSON array of strings, got ${JSON.stringify(value)}`);
  return value
    .split(',')
    .filter((seed) => seed.trim() !== '')
    .map(parseSeed);
}

/** CORS origins: a comma-separated list (flags, variables) or a JSON array (config file), each checked (api/http/cors.ts). */
export function parseCorsOriginList(value: unknown): string[] {
  if (Array.isArray(value)) return parseCorsOrigins(value);
  if (typeof value !== 'string')
    throw new Error(`must be a comma-separated string or a JSON array of origins, got ${JSON.stringify(value)}`);
  return parseCorsOrigins(
    value
      .split(',')
      .map((origin) => origin.trim())
      .filter((origin) => origin !== ''),
  );
}

function weight(value: unknown): number {
  if (typeof value !== 'number' && typeof value !== 'string')
    throw new Error(`must be a number, got ${JSON.stringify(value)}`);
  // parseWeight names its subject first; here the origin (checked) comes first instead.
  const subject = 'weight';
  try {
    return parseWeight(String(value), subject);
  } catch (error) {
    throw new Error((error as Error).message.slice(subject.length + 2));
  }
}

/** A JSON object, or its text; checked in depth once the cluster size is known (parseSettingsJson). */
function jsonObject(value: unknown): Record<string, unknown> | string {
  if (typeof value === 'string') return value;
  if (!isPlainObject(value)) throw new Error(`must be a JSON object, got ${JSON.stringify(value)}`);
  return value;
}

/** The ports `tls` names. */
export const tlsPortNames = ['http', 'resp', 'peer'] as const;

/** Which ports speak TLS: "all", "none", or a comma-separated list (or, in the config file, an array) of http, resp, peer. */
export function parseTlsPorts(value: unknown): TlsPorts {
  const names = Array.isArray(value)
    ? value
    : typeof value === 'string'
      ? value
          .split(',')
          .map((name) => name.trim())
          .filter((name) => name !== '')
      : undefined;
  if (names === undefined)
    throw new Error(`must be "all", "none" or a list of ${tlsPortNames.join(', ')}, got ${JSON.stringify(value)}`);
  if (names.length === 1 && (names[0] === 'all' || names[0] === 'none')) {
    const on = names[0] === 'all';
    return { http: on, resp: on, peer: on };
  }
  for (const name of names)
    if (!(tlsPortNames as readonly unknown[]).includes(name))
      throw new Error(
        `must be "all", "none" or a list of ${tlsPortNames.join(', ')}; unknown port ${JSON.stringify(name)}`,
      );
  return { http: names.includes('http'), resp: names.includes('resp'), peer: names.includes('peer') };
}

/** A switch: true from a flag, a JSON boolean or the text true/false/1/0 (variables). */
function switchValue(value: unknown): boolean {
  if (value === true || value === 'true' || value === '1') return true;
  if (value === false || value === 'false' || value === '0') return false;
  throw new Error(`must be true or false, got ${JSON.stringify(value)}`);
}

const parsers = {
  nodeId: nonEmptyText,
  listen: parseHostPort,
  http: parseHostPort,
  resp: (value: unknown): HostPort | undefined => (value === '' ? undefined : parseHostPort(value)),
  data: nonEmptyText,
  seeds: parseSeedList,
  engine: oneOf(engineKinds),
  secretFile: nonEmptyText,
  partitions: partitionCount,
  zone: (value: unknown): string | undefined => (value === '' ? undefined : text(value)),
  weight,
  logLevel: oneOf(logLevels),
  settingsJson: jsonObject,
  limitsJson: (value: unknown): NodeLimits => parseLimitsJson(value),
  tls: parseTlsPorts,
  tlsCertFile: nonEmptyText,
  tlsKeyFile: nonEmptyText,
  tlsCaFile: nonEmptyText,
  corsOrigins: parseCorsOriginList,
  insecure: switchValue,
  metricsPublic: switchValue,
} satisfies Record<StartSettingName, (value: unknown) => unknown>;

export type StartSettings = { -readonly [K in StartSettingName]?: ReturnType<(typeof parsers)[K]> };

export interface SettingSources {
  /** Values commander parsed, defaults included (flags are text). */
  readonly flags: Readonly<Partial<Record<StartSettingName, unknown>>>;
  /** Which of `flags` the user typed (the others are defaults). */
  readonly typed: ReadonlySet<string>;
  /** The parsed --config file, and its path for messages. */
  readonly file?: { readonly path: string; readonly content: unknown };
  readonly environment: Readonly<Record<string, string | undefined>>;
}

export interface ResolvedStartSettings {
  readonly settings: StartSettings;
  /** Settings given by a flag, the file or a variable rather than a default. */
  readonly given: ReadonlySet<StartSettingName>;
  /** Where each setting came from, as messages name it. */
  readonly origin: Readonly<Partial<Record<StartSettingName, string>>>;
}

/** The config file must be an object whose keys are all settings; anything else is refused by name. */
export function checkConfigFile(path: string, content: unknown): Record<string, unknown> {
  if (!isPlainObject(content)) throw new UsageError(`config file ${path}: must be a JSON object of settings`);
  for (const key of Object.keys(content)) {
    if (!(startSettingNames as readonly string[]).includes(key))
      throw new UsageError(
        `config file ${path}: unknown key ${JSON.stringify(key)}; known: ${startSettingNames.join(', ')}`,
      );
  }
  return content;
}

/** One setting's value and origin: a typed flag, else the file, else the variable, else the flag's default. */
function pick(
  name: StartSettingName,
  sources: SettingSources,
  file: Record<string, unknown>,
): { value: unknown; where: string; given: boolean } | undefined {
  const variable = environmentVariableOf(name);
  if (sources.typed.has(name)) return { value: sources.flags[name], where: flagOf(name), given: true };
  if (file[name] !== undefined)
    return { value: file[name], where: `config file ${sources.file?.path ?? ''}: "${name}"`, given: true };
  if (sources.environment[variable] !== undefined)
    return { value: sources.environment[variable], where: variable, given: true };
  if (sources.flags[name] !== undefined) return { value: sources.flags[name], where: flagOf(name), given: false };
  return undefined;
}

/** Flags win over the config file, which wins over EVERWRITE_* variables; every value is checked. */
export function resolveStartSettings(sources: SettingSources): ResolvedStartSettings {
  const file = sources.file === undefined ? {} : checkConfigFile(sources.file.path, sources.file.content);
  const settings: Record<string, unknown> = {};
  const given = new Set<StartSettingName>();
  const origin: Partial<Record<StartSettingName, string>> = {};
  for (const name of startSettingNames) {
    const picked = pick(name, sources, file);
    if (picked === undefined) continue;
    settings[name] = checked(picked.where, () => parsers[name](picked.value));
    origin[name] = picked.where;
    if (picked.given) given.add(name);
  }
  return { settings: settings as StartSettings, given, origin };
}

/** One setting checked by the schema, a refusal naming `where` (for commands sharing a setting of `start`). */
export function checkStartSetting<K extends StartSettingName>(
  name: K,
  value: unknown,
  where: string,
): ReturnType<(typeof parsers)[K]> {
  return checked(where, () => parsers[name](value) as ReturnType<(typeof parsers)[K]>);
}

/** Parses with `parse`, naming `where` in a refusal (for checks that need other settings first). */
export function checkSetting<T>(where: string | undefined, parse: () => T): T {
  return checked(where ?? 'settings', parse);
}
