// Why: the cluster view's public surface (decision 0015), one import for the node core, the runtime and tests.
export * from './view.ts';
export * from './codec.ts';
export * from './compare.ts';
export * from './messages.ts';
export * from './gossip.ts';
export * from './transition.ts';
