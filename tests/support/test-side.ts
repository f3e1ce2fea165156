/** The test caller lives with the simulated PBX (sim-pbx/test-caller.ts): the demo uses it too. */
export * from '../../sim-pbx/test-caller.js';
