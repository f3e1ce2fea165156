/**
 * The survey phase: the agent hung up first and the caller is still there; the bridge goes and the
 * IVR's satisfaction survey runs (once per call; a second time the caller is thanked and released).
 */
import { emit, type Draft } from './draft.js';
import { goodbye } from './ending.js';
import { flowInput } from './ivr.js';
import { endSegment } from './recording.js';

export function startSurvey(d: Draft): void {
  const s = d.s;
  endSegment(d);
  if (s.bridgeId) {
    emit(d, { do: 'remove-from-bridge', bridgeId: s.bridgeId, channelIds: [s.callId], why: 'survey', onFail: 'continue' });
    emit(d, { do: 'destroy-bridge', bridgeId: s.bridgeId, why: 'survey', onFail: 'continue', when: 'always' });
    // The state forgets the bridge now, so its destroy runs even if the call ends meanwhile.
    s.bridgeId = null;
  }
  if (s.surveyed) return goodbye(d, 'answered');
  s.surveyed = true;
  s.phase = 'survey';
  flowInput(d, { type: 'agent-hung-up' });
}
