export * from './sampler.js';
export * from './stop-matcher.js';
