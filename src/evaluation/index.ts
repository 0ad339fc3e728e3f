// The evaluation layer's public surface (docs/evaluation.md): statistics with bootstrap
// CIs, divergence detection across a run's checkpoints, and the canary's sequential test.
// Pure: no I/O.
export * from './errors.js';
export * from './statistics/index.js';
export * from './divergence/index.js';
export * from './canary/sequential-test.js';
