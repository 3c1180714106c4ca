export * from './bootstrap.js';
export * from './match.js';
export * from './patterns.js';
export * from './templates.js';
