// Injection tokens for the ports every service module may ask for. The platform
// module (src/platform/platform.module.ts) provides them for the configured mode.
export { EVENT_BUS } from './messaging/event-bus.js';
export { ARTIFACT_STORE } from './artifacts/artifact-store.js';
export const CONFIG = Symbol('CONFIG'); // OuterloopConfig
export const DATA_SOURCE = Symbol('DATA_SOURCE'); // typeorm DataSource, initialized and migrated
export const METRICS = Symbol('METRICS'); // prom-client Registry
