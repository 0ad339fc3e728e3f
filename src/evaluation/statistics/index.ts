export * from './descriptive.js';
export * from './bootstrap.js';
export * from './calibration.js';
export * from './rank-correlation.js';
export * from './regression.js';
