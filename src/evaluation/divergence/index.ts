export * from './checkpoints.js';
export * from './overoptimization.js';
export * from './length-control.js';
export * from './kl-budget.js';
