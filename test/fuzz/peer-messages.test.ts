// Why: the bounded CI slice of the fuzzers for what peers send: message frames, the framing of the
// byte stream, the handshake and the fast catch-up's messages. `npm run fuzz` runs the same targets a million cases each.
import { fuzzTargetTests } from './suite.ts';
import { catchUpTarget } from './targets/catch-up.ts';
import { messageCodecTarget } from './targets/message-codec.ts';
import { framingTarget, handshakeTarget } from './targets/transport.ts';

fuzzTargetTests(messageCodecTarget);
fuzzTargetTests(framingTarget);
fuzzTargetTests(handshakeTarget);
fuzzTargetTests(catchUpTarget);
