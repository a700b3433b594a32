// Why: the bounded CI slice of the fuzzers for client requests: RESP, HTTP paths, queries, headers
// and bodies, bucket props, rings, anti-entropy messages, and
// the node's answers as the client reads them. `npm run fuzz` runs the same targets a
// million cases each.
import { fuzzTargetTests } from './suite.ts';
import { clientResponseTarget } from './targets/client-responses.ts';
import { bucketPropsTarget, httpBodyTarget, httpRequestTarget } from './targets/http.ts';
import { respTarget } from './targets/resp.ts';
import { antiEntropyTarget, clusterViewTarget, ringJsonTarget } from './targets/rings-and-trees.ts';

fuzzTargetTests(respTarget);
fuzzTargetTests(httpRequestTarget);
fuzzTargetTests(httpBodyTarget);
fuzzTargetTests(bucketPropsTarget);
fuzzTargetTests(ringJsonTarget);
fuzzTargetTests(clusterViewTarget);
fuzzTargetTests(antiEntropyTarget);
fuzzTargetTests(clientResponseTarget);
