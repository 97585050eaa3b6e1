export * from './provider.js';
export * from './hash.js';
export * from './image.js';
export * from './cluster.js';
export * from './object.js';
export * from './intern.js';
