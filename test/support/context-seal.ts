// Why: tests that shape a runtime's answers themselves need the seal a node would use; one shared
// instance under a fixed test secret, so they all agree.
import { HmacContextSeal } from '../../src/io/context-seal.ts';

export const testContextSeal = new HmacContextSeal(new TextEncoder().encode('everwrite test cluster secret'));
