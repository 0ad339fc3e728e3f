// Pure dataset logic (ARCHITECTURE §8 `domain/`): preference pairs from feedback,
// spam defence, content-addressed snapshots and their statistics. Rows in, rows or
// bytes out; no entity, no database, no clock.
export * from './binomial.js';
export * from './canonical.js';
export * from './dataset.types.js';
export * from './preference-pairs.js';
export * from './snapshot.js';
export * from './spam-defence.js';
export * from './statistics.js';
