/** Erlang-A lives in the server now (the answer-rate controller forecasts with it); the bench reuses it. */
export * from '../src/controller/erlang-a.js';
