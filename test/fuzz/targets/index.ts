// Why: one list of every fuzz target, in the order the soak runs them; the CI slice files import
// the same targets. A new decoder facing untrusted bytes gets a target here.
import type { FuzzTarget } from '../harness.ts';
import { clientResponseTarget } from './client-responses.ts';
import { catchUpTarget } from './catch-up.ts';
import { bucketPropsTarget, httpBodyTarget, httpRequestTarget } from './http.ts';
import { messageCodecTarget } from './message-codec.ts';
import { respTarget } from './resp.ts';
import { antiEntropyTarget, clusterViewTarget, ringJsonTarget } from './rings-and-trees.ts';
import { hintsTarget, logTarget, nodeMetadataTarget, storageKeyTarget } from './storage.ts';
import { framingTarget, handshakeTarget } from './transport.ts';
import { contextTokenTarget, coreContextCodec, recordTarget, sealedContextCodec } from './versioning.ts';

export const fuzzTargets: ReadonlyArray<FuzzTarget<never>> = [
  messageCodecTarget,
  framingTarget,
  handshakeTarget,
  contextTokenTarget(coreContextCodec),
  contextTokenTarget(sealedContextCodec),
  recordTarget,
  logTarget,
  hintsTarget,
  nodeMetadataTarget,
  storageKeyTarget,
  respTarget,
  httpRequestTarget,
  httpBodyTarget,
  bucketPropsTarget,
  ringJsonTarget,
  clusterViewTarget,
  antiEntropyTarget,
  catchUpTarget,
  clientResponseTarget,
] as unknown as ReadonlyArray<FuzzTarget<never>>;
