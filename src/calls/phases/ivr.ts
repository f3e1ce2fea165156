/**
 * The IVR phase (and the survey, which is an IVR flow too): feeds inputs to the pure IVR engine and
 * turns its commands into call commands. Timers become deadlines in the state; a prompt with nothing
 * playable is answered at once, inside the step.
 */
import { mediaUri } from '../../ivr/engine.js';
import type { FlowCommand, FlowInput } from '../ports.js';
import type { CallEvent, Command } from '../state.js';
import { describeMedia, emit, isOver, nextPlaybackId, pathError, pathStep, type Draft } from './draft.js';
import { abandonOutcome, finish, goodbye } from './ending.js';
import { transferOut } from './handoff.js';
import { enqueue } from './queue.js';

/** Feed an input to the IVR engine and run what it says. */
export function flowInput(d: Draft, input: FlowInput): void {
  if (d.s.phase !== 'ivr' && d.s.phase !== 'survey') return;
  let next: { state: unknown; commands: FlowCommand[] };
  try {
    next = d.cfg.flow.next(d.s.ivr, input, d.now);
  } catch (err) {
    pathError(d, 'ivr', err instanceof Error ? err.message : String(err));
    return toAgentAfterError(d);
  }
  d.s.ivr = next.state;
  runFlow(d, next.commands);
}

/** The IVR's commands in order, until the call is ending. */
export function runFlow(d: Draft, commands: FlowCommand[]): void {
  for (const c of commands) {
    if (isOver(d)) return;
    flowCommand(d, c);
  }
}

const IVR = { when: 'active', onFail: 'continue' } as const;

function flowCommand(d: Draft, c: FlowCommand): void {
  const s = d.s;
  switch (c.type) {
    case 'play': {
      const id = nextPlaybackId(d);
      const uris = c.media.map(mediaUri).filter((u): u is string => u !== undefined);
      const lang = c.lang ?? s.language;
      pathStep(d, 'prompt', c.media.map(describeMedia).join(' '), lang);
      // Nothing playable (text without TTS): move on rather than wait for an event that never comes.
      if (uris.length === 0) return flowInput(d, { type: 'playback-done', token: c.token });
      s.playbacks[id] = c.token;
      emit(d, { do: 'play', playbackId: id, uris, lang, token: c.token, why: 'ivr:play', ...IVR });
      return;
    }
    case 'stop-playback':
      for (const [id, token] of Object.entries(s.playbacks)) if (token === c.token) emit(d, { do: 'stop-playback', playbackId: id, why: 'ivr:stop-playback', ...IVR });
      return;
    case 'start-timer':
      s.timers[c.token] = d.now + c.ms;
      return;
    case 'cancel-timer':
      delete s.timers[c.token];
      return;
    case 'path':
      pathStep(d, 'ivr', `${c.node}${c.detail ? `: ${c.detail}` : ''}`);
      return;
    case 'set-language':
      s.language = c.lang;
      s.record.language = c.lang;
      return;
    case 'lookup-ticket':
      emit(d, { do: 'lookup-ticket', ticketNo: c.ticketNo, token: c.token, why: 'ivr:lookup-ticket', ...IVR });
      return;
    case 'survey-rating':
      s.record.survey = { rating: c.rating, at: d.now };
      pathStep(d, 'survey', `rating ${c.rating}`);
      return;
    case 'queue':
      return enqueue(d, c.skill, c.priority, 'ivr:queue');
    case 'transfer':
      return transferOut(d, c.target);
    case 'hangup':
      return goodbye(d, s.phase === 'survey' ? 'answered' : s.record.agents.length ? 'answered' : 'self-service');
    default: {
      const never: never = c;
      throw new Error(`unknown flow command ${JSON.stringify(never)}`);
    }
  }
}

/** A ticket lookup answered (a failed lookup answers "not found" and is on the record). */
export function ticketStatus(d: Draft, e: Extract<CallEvent, { type: 'ticket-status' }>): void {
  if (e.error !== null) pathError(d, 'lookup-ticket', e.error);
  if (e.result.found) d.s.selfServed = true;
  flowInput(d, { type: 'ticket-status', token: e.token, result: e.result });
}

/** An IVR command failed: a caller gone ends the call; a prompt that failed counts as played. */
export function ivrFailed(d: Draft, cmd: Command, notFound: boolean, message: string): void {
  if (notFound) return finish(d, 'caller', abandonOutcome(d));
  const step = cmd.why.slice('ivr:'.length);
  pathError(d, step, message);
  if (cmd.do === 'play') return flowInput(d, { type: 'playback-done', token: cmd.token, failed: true });
  if (step === 'queue') return goodbye(d, 'failed');
}

/** Our error in the IVR: the caller goes to an agent, never to silence. */
export function toAgentAfterError(d: Draft): void {
  d.s.phase = 'ivr';
  enqueue(d, 'general', 1, 'ivr-error');
}
