// Sampling for evaluation (docs/evaluation.md, "The evaluator role"). Imports the
// engine, so it is not re-exported from src/evaluation/index.ts: the statistics, suites
// and gate stay loadable without onnxruntime.
export * from './sample-for-eval.js';
export * from './reward-scorer.js';
