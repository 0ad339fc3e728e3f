export * from './batch-engine.js';
export * from './engine-thread.js';
