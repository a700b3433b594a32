// Why: half of the CI swarm (see swarm.ts); the other half runs in parallel in swarm-1.test.ts.
import { swarm } from './swarm.ts';

swarm({ share: 1, shares: 2 });
