// Why: the anti-entropy tests share three things: SHA-256 from node:crypto as the injected digest
// (what production uses), a naive model of "which keys differ" to check the trees against, and a
// driver that carries messages between a TreeExchange and the stateless responder over an unreliable
// network of our making (reordering, duplication, loss with resend, replay of stale answers).
import { createHash } from 'node:crypto';
import { Prng } from '../../../../src/core/base/prng.ts';
import { asPartitionIndex } from '../../../../src/core/base/ids.ts';
import { compareBytes, toHex } from '../../../../src/core/base/bytes.ts';
import { TreeExchange, type TreeExchangeOptions } from '../../../../src/core/anti-entropy/exchange.ts';
import { answerTreeExchangeRequest } from '../../../../src/core/anti-entropy/responder.ts';
import type { TreeExchangeLimits } from '../../../../src/core/anti-entropy/limits.ts';
import type { MerkleTree } from '../../../../src/core/anti-entropy/merkle-tree.ts';
import type { TreeExchangeMessage, TreeExchangeResponse } from '../../../../src/core/anti-entropy/messages.ts';

export function sha256(input: Uint8Array): Uint8Array {
  return createHash('sha256').update(input).digest();
}

export function bytesOf(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** Keys present on one side only or with unequal hashes, computed from plain maps (hex key -> hex hash). */
export function naiveDifference(left: ReadonlyMap<string, string>, right: ReadonlyMap<string, string>): string[] {
  const keys = new Set<string>();
  for (const [key, hash] of left) if (right.get(key) !== hash) keys.add(key);
  for (const [key, hash] of right) if (left.get(key) !== hash) keys.add(key);
  return [...keys].sort((a, b) => compareBytes(hexToBytes(a), hexToBytes(b)));
}

export function hexToBytes(hex: string): Uint8Array {
  return Uint8Array.from({ length: hex.length / 2 }, (_, i) => parseInt(hex.slice(i * 2, i * 2 + 2), 16));
}

export function hexList(keys: readonly Uint8Array[]): string[] {
  return keys.map(toHex);
}

export interface UnreliableNetwork {
  /** Seeds the choice of which message in flight is delivered next (reordering). */
  readonly seed: number;
  /** Probability that a delivered response is also queued a second time. */
  readonly duplicateProbability: number;
  /** Probability that a message is dropped; the driver then resends pendingRequests() once idle. */
  readonly lossProbability: number;
  /** Probability, per step, of re-delivering a random response that was already delivered. */
  readonly staleProbability: number;
}

export interface DriverOutcome {
  readonly exchange: TreeExchange;
  readonly steps: number;
}

/**
 * Runs an exchange of `local` against `remote` to completion. Without a network, messages are
 * delivered first-in first-out exactly once. Bounded: fails the test if it takes over `stepsMax` steps.
 */
export function runExchange(
  local: MerkleTree,
  remote: MerkleTree,
  options: Partial<TreeExchangeOptions> = {},
  network?: UnreliableNetwork,
  responderLimits?: TreeExchangeLimits,
  stepsMax = 100_000,
): DriverOutcome {
  const exchange = new TreeExchange(local, { exchangeId: 7, partition: asPartitionIndex(3), ...options });
  const prng = network === undefined ? undefined : new Prng(network.seed);
  const inFlight: TreeExchangeMessage[] = [...exchange.start()];
  const delivered: TreeExchangeResponse[] = [];
  let steps = 0;
  while (exchange.state !== 'finished' && exchange.state !== 'failed') {
    if (++steps > stepsMax) throw new Error(`exchange did not end within ${stepsMax} steps (state ${exchange.state})`);
    if (prng !== undefined && network !== undefined && delivered.length > 0 && prng.chance(network.staleProbability)) {
      inFlight.push(prng.pick(delivered));
    }
    if (inFlight.length === 0) {
      // Everything was lost: what the node does when the exchange's timeout fires.
      inFlight.push(...exchange.pendingRequests());
      continue;
    }
    const position = prng === undefined ? 0 : prng.nextInt(inFlight.length);
    const message = inFlight.splice(position, 1)[0] as TreeExchangeMessage;
    if (prng !== undefined && network !== undefined && prng.chance(network.lossProbability)) continue;
    if (message.kind === 'tree-hashes-request' || message.kind === 'tree-leaf-entries-request') {
      inFlight.push(answerTreeExchangeRequest(remote, message, responderLimits));
      continue;
    }
    delivered.push(message);
    if (prng !== undefined && network !== undefined && prng.chance(network.duplicateProbability))
      inFlight.push(message);
    inFlight.push(...exchange.receive(message));
  }
  return { exchange, steps };
}
