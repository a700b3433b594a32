// Why: the RESP front end's public surface: start a server, and the option types to configure it.
export { startRespServer } from './server.ts';
export type { RespServerHandle, RespServerOptions, KeyMapping, LimitOverrides } from './server.ts';
