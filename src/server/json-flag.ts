// Why: several flags of `everwrite start` take a JSON object (`--settings-json`, `--limits-json`),
// either as text from the command line or as an object from a --config file. They share one reading
// rule so that every such flag answers an operator's mistake with the same clear message.

/** True for a JSON object (not null, not an array). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The object a JSON-object flag holds: undefined when the flag is absent or blank, the parsed
 * object otherwise; anything else throws an Error that names the flag.
 */
export function readJsonObjectFlag(source: unknown, flag: string): Record<string, unknown> | undefined {
  if (source === undefined || (typeof source === 'string' && source.trim() === '')) return undefined;
  let parsed: unknown = source;
  if (typeof source === 'string') {
    try {
      parsed = JSON.parse(source);
    } catch {
      throw new Error(`${flag} must be a JSON object, got ${JSON.stringify(source)}`);
    }
  }
  if (!isPlainObject(parsed)) throw new Error(`${flag} must be a JSON object`);
  return parsed;
}
