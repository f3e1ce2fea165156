/**
 * Agent legs end by themselves when the browser's media stops (issue 13 point 5: a frozen browser
 * leg left the caller in silence until someone hung the channel up by hand). Checked on every
 * agent endpoint the entrypoint renders (they inherit the agent-webrtc template), so a template
 * change or an endpoint that stops inheriting it fails here.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { objectsOfType, parseIniFile, value } from '../support/asterisk-ini.js';
import { renderAsteriskConfig } from '../support/render-asterisk.js';

function render(agentPasswords: string) {
  return renderAsteriskConfig({ AGENT_SIP_PASSWORDS: agentPasswords }, 'rtp-timeout-');
}

describe('agent legs time out without RTP', () => {
  it('GIVEN the rendered pjsip.conf WHEN an agent endpoint is read THEN rtp_timeout is 30 s (60 s on hold), and no trunk carries one', () => {
    const { etc, status, stderr } = render('agent1001:Seat-Secret-1-x,agent1002:Seat-Secret-2-x');
    try {
      expect(status, stderr).toBe(0);
      const pj = parseIniFile(join(etc, 'pjsip.conf'), { includeDir: etc });
      const endpoints = objectsOfType(pj, 'endpoint');
      const agents = endpoints.filter((e) => /^agent\d+$/.test(e.name));
      expect(agents.map((a) => a.name).sort()).toEqual(['agent1001', 'agent1002']);
      for (const ep of agents) {
        expect(value(pj, ep, 'rtp_timeout'), ep.name).toBe('30');
        expect(value(pj, ep, 'rtp_timeout_hold'), ep.name).toBe('60');
      }
      // Only browser legs: trunks keep Asterisk's default (no RTP timeout).
      for (const ep of endpoints.filter((e) => !/^agent\d+$/.test(e.name))) expect(value(pj, ep, 'rtp_timeout'), ep.name).toBeUndefined();
    } finally {
      rmSync(etc, { recursive: true, force: true });
    }
  });
});
