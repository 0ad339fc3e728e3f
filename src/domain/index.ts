// The vocabulary every layer shares (ARCHITECTURE §8 `domain/`): plain TypeScript,
// no framework, no persistence. Entities, services and pure layers import it.
export * from './api-keys.js';
export * from './completions.js';
export * from './deployments.js';
export * from './evaluation.js';
export * from './feedback.js';
export * from './jobs.js';
export * from './json.js';
export * from './loop.js';
export * from './models.js';
export * from './training.js';
