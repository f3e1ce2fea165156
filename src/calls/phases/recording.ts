/**
 * Recording segments: one recording per set of parties in the bridge (agent, then each hand-off),
 * linked to the call. Never blocks or fails the call: the start runs in the background.
 */
import type { CallEvent } from '../state.js';
import { emit, pathStep, type Draft } from './draft.js';

/** Record the bridge from here on (a new segment). */
export function startSegment(d: Draft, party: string | undefined): void {
  const s = d.s;
  if (!d.cfg.hasRecording || !s.bridgeId) return;
  endSegment(d);
  s.recording.segment++;
  s.recording.open = true;
  emit(d, {
    do: 'recording-start',
    bridgeId: s.bridgeId,
    segment: s.recording.segment,
    party: party ?? null,
    enabled: s.recording.enabled,
    why: 'recording',
    background: true,
  });
}

export function endSegment(d: Draft): void {
  const s = d.s;
  if (!s.recording.open || !d.cfg.hasRecording) return;
  s.recording.open = false;
  emit(d, { do: 'recording-end', segment: s.recording.segment, why: 'recording', onFail: 'continue' });
}

export function segmentStarted(d: Draft, e: Extract<CallEvent, { type: 'segment-started' }>): void {
  const r = e.result;
  if (r.status === 'gap') pathStep(d, 'recording', `segment ${e.segment} not recorded: ${r.reason}`);
  else if (r.status !== 'off') pathStep(d, 'recording', `segment ${e.segment}: ${r.name}`);
}
