/**
 * A real Asterisk loaded with our asterisk/ and dialplan/ starts without an ERROR caused by our
 * configuration, and calls through every inbound context log none either.
 *
 * Real half only (vitest.config.ts REAL_ONLY): it reads a real Asterisk's own log, which the
 * simulated PBX does not have.
 *
 * What stays allowed is the noise of modules we do not configure (CDR/CEL back-ends, AMD, …): with no
 * config file of their own they decline to load and say so at ERROR level. Each such line must name
 * a config file we do NOT ship, so a broken file of ours can never hide behind the allowance.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AsteriskInstance, unconfiguredModule } from '../support/asterisk.js';
import { PROMPTS_DIR } from '../support/pbx.js';
import { eventually } from '../support/wait.js';

let ast: AsteriskInstance;

beforeAll(async () => {
  ast = await AsteriskInstance.start({ promptsDir: PROMPTS_DIR, label: 'start-' });
});
afterAll(async () => {
  await ast?.stop();
});

describe('a real Asterisk with our configuration', () => {
  it('GIVEN our asterisk/ and dialplan/ WHEN it starts and takes calls into every inbound context THEN it logs no ERROR of ours', async () => {
    const { ariUrl, ariUser, ariPassword } = ast.info;
    const auth = { authorization: `Basic ${Buffer.from(`${ariUser}:${ariPassword}`).toString('base64')}` };
    // No Stasis app is connected: each context runs its fallback (answer, system-busy, hang up) after
    // reading the linkage reference the way a Local channel must (HOTLINE_REF, never PJSIP_HEADER).
    for (const context of ['from-carrier', 'from-linkage', 'from-subcenter', 'from-agents']) {
      const q = new URLSearchParams({ endpoint: `Local/12345@${context}`, extension: '1', context: 'hotline-test-noanswer', timeout: '5' });
      const r = await fetch(`${ariUrl}/ari/channels?${q}`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ variables: { HOTLINE_REF: 'R-1' } }) });
      expect(r.status, context).toBe(200);
    }
    await eventually(async () => {
      const chans = (await (await fetch(`${ariUrl}/ari/channels`, { headers: auth })).json()) as unknown[];
      expect(chans).toEqual([]);
    });
    const errors = ast
      .log()
      .split('\n')
      .filter((l) => /\bERROR\[/.test(l))
      .map((l) => l.replace(/^\[[^\]]*\] ERROR\[\d+\]( \S+)? /, '').trim());
    expect(errors.length).toBeGreaterThan(0); // the log is really read: the unconfigured modules do speak
    const ours = errors.filter((l) => unconfiguredModule(l) === undefined);
    expect(ours).toEqual([]);
    // The three measured on the previous configuration, by name.
    expect(errors.filter((l) => /stunaddr|adsi|getcpeid|PJSIP_HEADER|Declined modules which depend/i.test(l))).toEqual([]);
  });
});
