/** The platform CSPRNG as a RandomSource (Web Crypto: present in browsers and Node ≥ 19). */
import { randomBytes } from '@noble/hashes/utils.js';
import type { Clock, RandomSource } from './ids.js';

export const secureRandom: RandomSource = (length) => randomBytes(length);
export const systemClock: Clock = () => Date.now();
