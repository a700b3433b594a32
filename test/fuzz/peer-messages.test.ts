// Why: the bounded CI slice of the fuzzers for what peers send: message frames, the framing of the
// byte stream and the handshake. `npm run fuzz` runs the same targets a million cases each.
import { fuzzTargetTests } from './suite.ts';
import { messageCodecTarget } from './targets/message-codec.ts';
import { framingTarget, handshakeTarget } from './targets/transport.ts';

fuzzTargetTests(messageCodecTarget);
fuzzTargetTests(framingTarget);
fuzzTargetTests(handshakeTarget);
