// Why: the set-add workload (Jepsen's Riak test) stores a key's value as a comma-separated list of
// element ids. The simulator and the real-process chaos run write and check the same format, so it
// is defined once here.

/** A value is a comma-separated list of element ids; undefined when it is not one. */
export function parseElements(text: string): number[] | undefined {
  if (text === '') return [];
  const elements: number[] = [];
  for (const part of text.split(',')) {
    if (!/^[1-9][0-9]{0,14}$/.test(part)) return undefined;
    elements.push(Number(part));
  }
  return elements;
}

export function formatElements(elements: Iterable<number>): string {
  return [...elements].sort((a, b) => a - b).join(',');
}
