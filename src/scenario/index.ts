// The reference scenario's public surface (docs/scenario.md).
export * from './random.js';
export * from './world.js';
export * from './prompts.js';
export * from './text-features.js';
export * from './gold-utility.js';
export * from './eval-sets.js';
export * from './sft-corpus.js';
export * from './users/bias-spec.js';
export * from './users/persona.js';
export * from './users/feedback-model.js';
export * from './users/agreement.js';
export * from './loadgen/api-client.js';
export * from './loadgen/latency.js';
export * from './loadgen/run-load.js';
export * from './loadgen/cli-args.js';
export * from './eval-suites.js';
