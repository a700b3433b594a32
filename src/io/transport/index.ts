// Why: one import path for the runtime and the CLI to reach every transport and the cluster-secret
// helpers, without knowing how the folder is split.
export {
  TcpTransport,
  TcpTransportMetrics,
  tcpTransportDefaults,
  type CoalesceStrategy,
  type PeerAddress,
  type TcpTransportHooks,
  type TcpTransportOptions,
} from './tcp.ts';
export { MemoryNetwork, MemoryTransport, type MemoryNetworkMetrics, type MemoryNetworkOptions } from './memory.ts';
export { generateSecret, loadSecret, secretBytesMin, type SecretSources } from './handshake.ts';
