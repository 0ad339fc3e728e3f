export * from './rule-engine.js';
export * from './config-errors.js';
export * from './metrics.js';
export * from './policy.js';
export * from './evidence.js';
export * from './default-policies.js';
export * from './confusion.js';
