export * from './scorer.js';
export * from './text.js';
export * from './json-schema.js';
export * from './builtin-scorers.js';
export * from './suite.js';
export * from './evaluate-samples.js';
