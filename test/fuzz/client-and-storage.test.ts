// Why: the bounded CI slice of the fuzzers for what clients send and what storage holds: context
// tokens, records, the write-ahead log, hints and node metadata. `npm run fuzz` runs the same
// targets a million cases each.
import { fuzzTargetTests } from './suite.ts';
import { hintsTarget, logTarget, nodeMetadataTarget, storageKeyTarget } from './targets/storage.ts';
import { contextTokenTarget, coreContextCodec, recordTarget, sealedContextCodec } from './targets/versioning.ts';

fuzzTargetTests(contextTokenTarget(coreContextCodec));
fuzzTargetTests(contextTokenTarget(sealedContextCodec));
fuzzTargetTests(recordTarget);
fuzzTargetTests(logTarget);
fuzzTargetTests(hintsTarget);
fuzzTargetTests(nodeMetadataTarget);
fuzzTargetTests(storageKeyTarget);
