/** The throwaway redis-server lives with the demo (src/demo/own-redis.ts), which starts one too. */
export * from '../../src/demo/own-redis.js';
