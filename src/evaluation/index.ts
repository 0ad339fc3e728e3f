// The evaluation layer's public surface (docs/evaluation.md): statistics with bootstrap
// CIs, and divergence detection across a run's checkpoints. Pure: no I/O.
export * from './errors.js';
export * from './statistics/index.js';
export * from './divergence/index.js';
