// Why: golden-transcript scenario tests for the node core, in the manner of etcd raft's datadriven
// testdata. A readable script of client requests and faults goes in; every data-path effect the cores
// produce comes out, one line each, and is compared with what the committed file says. A change of
// behaviour shows as a diff a reviewer can read line by line, which a handful of assertions cannot
// give. After a deliberate change, `EVERWRITE_REWRITE_TRANSCRIPTS=1` writes the new output into the
// files, to be reviewed in the commit.
//
// File format: blocks of `command`, a line `----`, the expected output, and a blank line. Lines
// starting with `#` between blocks are comments. Commands:
//   cluster <size> [setting=value ...]   start a CoreCluster (first); settings are NodeCoreSettings numbers
//   put <node> <key> <value> [w=N] [context]   `context`: the one the last read answered
//   delete <node> <key> [w=N] [context]
//   get <node> <key> [r=N]
//   down <node> | up <node>                     a down node neither receives nor answers
//   run <ms>                                    advance virtual time, ticking every node
//   records <key>                               each node's record for the key
// Keys live in bucket `b`. Only the data path is printed (replica messages, forwards, reaps, storage,
// hints, replies, logs): liveness, gossip and anti-entropy traffic is left out.
import type { NodeId } from '../../src/core/base/ids.ts';
import type { Effect, Outcome } from '../../src/core/node/effects.ts';
import type { NodeCoreSettings } from '../../src/core/node/options.ts';
import type { Message } from '../../src/core/protocol/messages.ts';
import { decodeStorageKey, encodeStorageKey } from '../../src/core/protocol/storage-key.ts';
import {
  decodeRecord,
  encodeContext,
  type VersionVector,
  type VersionedRecord,
} from '../../src/core/versioning/index.ts';
import { CoreCluster } from './core-cluster.ts';

export interface TranscriptBlock {
  /** Comment lines before the command, kept as they are. */
  readonly comments: readonly string[];
  readonly command: string;
  readonly expected: string;
  /** 1-based line of the command in the file. */
  readonly line: number;
}

export function parseTranscript(text: string): TranscriptBlock[] {
  const lines = text.split('\n');
  const blocks: TranscriptBlock[] = [];
  let comments: string[] = [];
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index] as string;
    if (line.trim() === '') continue;
    if (line.startsWith('#')) {
      comments.push(line);
      continue;
    }
    if (lines[index + 1] !== '----') throw new Error(`line ${index + 1}: a command must be followed by ----`);
    const output: string[] = [];
    let next = index + 2;
    for (; next < lines.length && (lines[next] as string) !== ''; next++) output.push(lines[next] as string);
    blocks.push({ comments, command: line, expected: output.join('\n'), line: index + 1 });
    comments = [];
    index = next;
  }
  return blocks;
}

export function formatTranscript(
  blocks: ReadonlyArray<Pick<TranscriptBlock, 'comments' | 'command' | 'expected'>>,
): string {
  return (
    blocks
      .map((block) =>
        [...block.comments, block.command, '----', ...(block.expected === '' ? [] : [block.expected])].join('\n'),
      )
      .join('\n\n') + '\n'
  );
}

const settleMs = 5_000;
const idSpan = 2 ** 32;

function keyOf(storageKey: Uint8Array): string {
  const { bucket, key } = decodeStorageKey(storageKey);
  return `${bucket}/${key}`;
}

function contextText(context: VersionVector): string {
  return [...context].map(([actor, counter]) => `${actor}:${counter}`).join(' ');
}

/** `[value@dot, ... | context]`; a tombstone's value is shown as `deleted`. */
export function recordText(record: VersionedRecord): string {
  const siblings = record.siblings.map(
    (sibling) =>
      `${sibling.stored.deleted ? 'deleted' : new TextDecoder().decode(sibling.stored.value)}@${sibling.dot.actor}:${sibling.dot.counter}`,
  );
  return `[${siblings.join(', ')} | ${contextText(record.context)}]`;
}

function encodedText(bytes: Uint8Array | undefined): string {
  return bytes === undefined ? 'none' : recordText(decodeRecord(bytes));
}

function messageText(message: Message): string | undefined {
  switch (message.type) {
    case 'replicaPut':
      return `replicaPut #${message.id % idSpan} ${keyOf(message.storageKey)} ${encodedText(message.record)}${message.hintFor === undefined ? '' : ` hint-for ${message.hintFor}`}`;
    case 'replicaPutAck':
      return `replicaPutAck #${message.id % idSpan} ${message.ok ? 'ok' : 'refused'}`;
    case 'replicaGet':
      return `replicaGet #${message.id % idSpan} ${keyOf(message.storageKey)}`;
    case 'replicaGetReply':
      return `replicaGetReply #${message.id % idSpan} ${message.ok ? encodedText(message.record) : 'failed'}`;
    case 'reap':
      return `reap ${keyOf(message.storageKey)} ${encodedText(message.record)}`;
    case 'forward':
      return `forward #${message.id % idSpan} ${message.operation.kind} ${message.operation.bucket}/${message.operation.key}`;
    case 'forwardReply':
      return `forwardReply #${message.id % idSpan} ${message.error === undefined ? encodedText(message.record) : message.error.code}`;
    default:
      return undefined;
  }
}

function outcomeText(outcome: Outcome): string {
  return outcome.ok ? `ok ${recordText(outcome.record)}` : `${outcome.error.code}: ${outcome.error.message}`;
}

/** One line for an effect of the data path; undefined for the rest. */
function effectText(effect: Effect): string | undefined {
  switch (effect.type) {
    case 'send': {
      const text = messageText(effect.message);
      return text === undefined ? undefined : `→ ${effect.to} ${text}`;
    }
    case 'reply':
      return `⇒ client #${effect.requestId} ${outcomeText(effect.outcome)}`;
    case 'storeRead':
      return `store read ${keyOf(effect.storageKey)}`;
    case 'storeUpdate':
      return `store update ${keyOf(effect.storageKey)} ${effect.stored.deleted ? 'deleted' : new TextDecoder().decode(effect.stored.value)} as ${effect.actor}`;
    case 'storeMerge':
      return `store merge ${keyOf(effect.storageKey)} ${recordText(effect.record)}`;
    case 'storeReap':
      return `store reap ${keyOf(effect.storageKey)} ${recordText(effect.record)}`;
    case 'hintAdd':
      return `hint for ${effect.target} ${keyOf(effect.storageKey)} ${encodedText(effect.encoded)}`;
    case 'hintRemove':
      return `hints removed ${effect.ids.length}`;
    case 'log':
      return `log ${effect.level}: ${effect.message}`;
    default:
      return undefined;
  }
}

/** Runs the blocks of one transcript in order, returning each block with its actual output. */
export class TranscriptRunner {
  private cluster: CoreCluster | undefined;
  private output: string[] = [];
  private lastContext: string | undefined;

  run(blocks: readonly TranscriptBlock[]): TranscriptBlock[] {
    return blocks.map((block) => {
      this.output = [];
      this.execute(block.command.split(/\s+/));
      return { ...block, expected: this.output.join('\n') };
    });
  }

  private get core(): CoreCluster {
    if (this.cluster === undefined) throw new Error('the first command must be `cluster`');
    return this.cluster;
  }

  private execute(words: readonly string[]): void {
    const [verb, ...rest] = words;
    const handler = this.handlers[verb ?? ''];
    if (handler === undefined) throw new Error(`unknown transcript command ${verb}`);
    handler(rest);
  }

  private readonly handlers: Record<string, (args: readonly string[]) => void> = {
    cluster: (args) => this.start(args),
    put: ([node, key, value, ...options]) =>
      this.request(() =>
        this.core.put(
          node as string,
          'b',
          key as string,
          value as string,
          this.contextIf(options),
          this.optionsOf(options),
        ),
      ),
    delete: ([node, key, ...options]) =>
      this.request(() =>
        this.core.put(node as string, 'b', key as string, '', this.contextIf(options), this.optionsOf(options), true),
      ),
    get: ([node, key, ...options]) =>
      this.request(() => this.core.get(node as string, 'b', key as string, this.optionsOf(options))),
    down: ([node]) => this.core.down.add(node as NodeId),
    up: ([node]) => this.core.down.delete(node as NodeId),
    run: ([ms]) => this.core.runFor(Number(ms)),
    records: ([key]) => this.printRecords(key as string),
  };

  private start([size, ...assignments]: readonly string[]): void {
    const settings: Record<string, number> = { antiEntropyIntervalMs: 1_000_000_000, antiEntropyCatchUpOutageMsMax: 1 };
    for (const assignment of assignments) {
      const [name, value] = assignment.split('=');
      settings[name as string] = Number(value);
    }
    const cluster = new CoreCluster(Number(size), settings as Partial<NodeCoreSettings>);
    cluster.onEffect = (node, nowMs, effect) => {
      const text = effectText(effect);
      if (text !== undefined) this.output.push(`${nowMs}ms ${node} ${text}`);
    };
    this.cluster = cluster;
  }

  private contextIf(options: readonly string[]): string | undefined {
    return options.includes('context') ? this.lastContext : undefined;
  }

  private optionsOf(options: readonly string[]): { r?: number; w?: number } {
    const out: { r?: number; w?: number } = {};
    for (const option of options) {
      const [name, value] = option.split('=');
      if (name === 'r' || name === 'w') out[name] = Number(value);
    }
    return out;
  }

  /** Issues one client request and runs every node until it is settled (timeouts included). */
  private request(issue: () => number): void {
    const requestId = issue();
    this.core.run(this.core.nowMs + settleMs);
    const outcome = this.core.outcomes.get(requestId);
    if (outcome?.ok === true && outcome.context !== undefined) this.lastContext = encodeContext(outcome.context);
  }

  private printRecords(key: string): void {
    const storageKey = keyOf(encodeStorageKey('b', key));
    for (const id of this.core.ids) {
      const held = [...this.core.node(id).records.entries()].find(
        ([recordKey]) => keyOf(Buffer.from(recordKey.split(':')[1] as string, 'hex')) === storageKey,
      );
      this.output.push(`${id} ${held === undefined ? 'nothing' : recordText(held[1])}`);
    }
  }
}
