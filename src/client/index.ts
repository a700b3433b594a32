// Why: the client's public surface, re-exported by the package (src/index.ts); its internals
// (transport, node set, ring view) stay free to change behind it.
export {
  EverwriteClient,
  type ReadOptions,
  type WriteOptions,
  type PutOptions,
  type UpdateOptions,
  type MergeFunction,
  type BucketPropsPatch,
  type ClusterStatus,
  type ClientStats,
} from './client.ts';
export {
  EverwriteClientError,
  isEverwriteClientError,
  clientErrorCodes,
  type EverwriteClientErrorFields,
} from './errors.ts';
export { clientDefaults, type EverwriteClientOptions, type Routing } from './options.ts';
export type { GetResult as ClientGetResult, Sibling } from './responses.ts';
export type { KeyPage, ListKeysOptions } from './key-listing.ts';
