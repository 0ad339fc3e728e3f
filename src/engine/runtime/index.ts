export * from './batch-engine.js';
