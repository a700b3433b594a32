// Why: what the runtime tells whoever watches a node (metrics, the dashboard's live figures) without
// knowing how it is kept. The runtime is shared with the simulator, so it must not import a metrics
// library: it calls this narrow interface, and the node's composition root (src/server) plugs in
// the prom-client implementation (src/server/node-metrics.ts). Every call is on the request path or
// an effect's: implementations keep them to a lookup and an increment.

/** A coordinated client operation, as the runtime sees it (HTTP, RESP and embedded callers alike). */
export type CoordinatedOperation = 'get' | 'put' | 'delete' | 'props';

/** How a coordinated operation ended: `ok`, or the EVERWRITE_* code it failed with. */
export type OperationOutcome = 'ok' | string;

/** Which way a handoff batch went: this node the transfer's source (outgoing) or its target (incoming). */
export type HandoffDirection = 'outgoing' | 'incoming';

/** Why a hint was not kept: the store refused it (full or failing), or it could not be decoded on load. */
export type HintDropReason = 'refused' | 'undecodable';

export interface RuntimeObserver {
  /** A coordinated operation answered (or failed) after `seconds`. */
  operationFinished(operation: CoordinatedOperation, outcome: OperationOutcome, seconds: number): void;
  /** A successful read's answer: its sibling count and the actors in its causal context. */
  readAnswered(siblings: number, contextActors: number): void;
  /** A client operation this node sent to a primary to coordinate (it holds no replica of the key). */
  forwardSent(): void;
  /** A write's replica sent to a fallback node to hold as a hint for a primary (sloppy quorum). */
  sloppyReplicaSent(): void;
  /** A newer record pushed to a stale replica after a read (read repair). */
  readRepairSent(): void;
  /** A hint stored here for `target` (`ok`), or refused. */
  hintStored(target: string, ok: boolean): void;
  /** Hints for `target` acknowledged by it and removed here. */
  hintsDelivered(target: string, count: number): void;
  hintDropped(reason: HintDropReason): void;
  /** A handoff batch of a membership transition sent (resends included) or received, with its keys and their bytes (storage key plus record). */
  handoffBatch(direction: HandoffDirection, keys: number, bytes: number): void;
  /** A write to this node's store (a mint or a merge) that waited for the engine finished after `seconds`. */
  storeWriteFinished(seconds: number): void;
}
