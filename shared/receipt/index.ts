/** PROTOCOL §8a: receipts signed by the pile in OCMF, that anyone holding the pile's public key can check. */
export * from './algorithms.js';
export * from './errors.js';
export * from './parse.js';
export * from './payload.js';
export * from './readings.js';
export * from './sign-key.js';
export * from './time.js';
export * from './verify.js';
