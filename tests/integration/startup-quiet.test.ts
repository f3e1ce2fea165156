/**
 * Starting the server prints nothing of its own to the console: swagger-client (inside ari-client)
 * used to print "This API is using a deprecated version of Swagger!" at every connect.
 */
import { describe, expect, it, vi } from 'vitest';
import { useHarness } from '../support/harness.js';

const h = useHarness();

describe('a quiet start', () => {
  it('GIVEN the app WHEN it connects to ARI (twice, after a dropped socket) THEN nothing is written with console.log and swagger-client keeps no history', async () => {
    const spy = vi.spyOn(console, 'log');
    try {
      const app = await h.startApp();
      app.telephony.dropEventSocket();
      await new Promise((r) => setTimeout(r, 300));
      await app.telephony.whenConnected(10_000);
      const printed = spy.mock.calls.map((c) => JSON.stringify(c));
      expect(printed.filter((p) => p.includes('Swagger'))).toEqual([]);
      expect((globalThis as { log?: { history?: unknown[] } }).log?.history).toBeUndefined();
    } finally {
      spy.mockRestore();
    }
  });
});
