export * from './schema.js';
export * from './defaults.js';
export * from './errors.js';
export * from './load.js';
