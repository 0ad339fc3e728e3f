// The evaluation layer's public surface (docs/evaluation.md): statistics with bootstrap
// CIs, eval suites and behaviour diagnostics, divergence detection across a run's
// checkpoints, the gate's rule engine and policies, and the canary's sequential test.
// Pure: no I/O.
export * from './errors.js';
export * from './statistics/index.js';
export * from './divergence/index.js';
export * from './suites/index.js';
export * from './gate/index.js';
export * from './canary/sequential-test.js';
