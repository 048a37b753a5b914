// Postern's HTTP/1.1 upstream client: keep-alive pools of plain or TLS
// connections, a strict response parser, and undici's dispatch contract.
export { Http1Pool, type PoolOptions, type PoolTls } from './pool.js';
export type { DispatchController, DispatchHandler, DispatchOptions } from './dispatch.js';
export type { ResponseHeaders } from './parser.js';
