/**
 * The effect executor: the one place where a call's commands become calls on the telephony port,
 * the ACD, the recording service, the caller guard and the console hooks. It decides nothing; a
 * command's result (or failure) goes back to the step as an event.
 */
import type { Logger } from 'pino';
import type { AcdPort } from '../acd/port.js';
import { HOPS_VARIABLE } from '../routing/loops.js';
import type { RecordingPort } from '../recording/service.js';
import { TelephonyError, type Telephony } from '../telephony/port.js';
import type { CallGuardPort, GuardVerdict } from './abuse-port.js';
import type { RouteDecision, TicketStatusLookup } from './ports.js';
import type { CallRecord, CallSource } from './record.js';
import type { CallEvent, CallState, Effect } from './state.js';
import type { CallStateStore } from './store.js';

export interface EffectDeps {
  telephony: Telephony;
  acd: AcdPort | undefined;
  recording?: RecordingPort;
  guard?: CallGuardPort;
  lookupTicket: TicketStatusLookup;
  resolveRoute: (q: { dialed: string; source: CallSource; at: Date; area?: string }) => RouteDecision;
  mohClass?: string;
  notifyAgent?: (agentId: string, callId: string, notice: { code: string; message: string; target?: string; unit?: string }) => void;
  onLoopRefused?: (record: CallRecord) => void;
  /** The ended call's record to the tickets outbox; resolves once it is spooled (durable). */
  onEnded: (record: CallRecord) => void | Promise<unknown>;
  /** Where the call's state is kept: removed here once the record is spooled. */
  store?: CallStateStore;
}

/** What the executor needs of the running call. */
export interface EffectHost<S> {
  readonly state: CallState;
  readonly session: S;
  readonly log: Logger;
  /**
   * What the channel brought with StasisStart: its state Up (the dialplan answered citizens' calls
   * before Stasis) and its variables (ari.conf `channelvars`). Each saves an ARI round trip per call.
   */
  readonly arrival?: { up: boolean; variables: Record<string, string> | undefined };
  onAgentConnected?: (agentId: string, session: S) => void;
  onAgentRinging?: (agentId: string, session: S, change: 'ringing' | 'withdrawn') => void;
}

/** Run one effect; resolves to the event it answers with (if any), rejects when it failed. */
export async function runEffect<S>(deps: EffectDeps, host: EffectHost<S>, c: Effect): Promise<CallEvent | undefined> {
  const t = deps.telephony;
  const callId = host.state.callId;
  switch (c.do) {
    case 'answer':
      // Answered by the dialplan already (from-carrier answers before Stasis): nothing to ask.
      if (host.arrival?.up) return undefined;
      await t.answer(callId);
      return undefined;
    case 'read-ref': {
      const v = await arrivalVariable(host, t, callId, 'HOTLINE_REF');
      return { type: 'ref-read', value: v ?? null };
    }
    case 'read-vars': {
      const [area, hops] = await Promise.all([arrivalVariable(host, t, callId, 'HOTLINE_AREA'), arrivalVariable(host, t, callId, HOPS_VARIABLE)]);
      return { type: 'vars-read', area: area ?? null, hops: hops ?? null };
    }
    case 'route': {
      let decision: RouteDecision | null = null;
      let error: string | null = null;
      try {
        decision = deps.resolveRoute({ dialed: c.dialed, source: c.source, at: new Date(c.at), ...(c.area ? { area: c.area } : {}) });
      } catch (err) {
        error = (err as Error).message;
        host.log.warn({ where: 'route', err: error }, 'call step failed');
      }
      let verdict: GuardVerdict = { action: 'ok' };
      if (c.checkGuard && deps.guard) verdict = await deps.guard.check(c.caller, c.source);
      return { type: 'routed', decision, error, verdict };
    }
    case 'play':
      await t.play(callId, c.uris, { playbackId: c.playbackId, lang: c.lang });
      return undefined;
    case 'stop-playback':
      await t.stopPlayback(c.playbackId);
      return undefined;
    case 'start-moh':
      await t.startMoh(callId, deps.mohClass);
      return undefined;
    case 'stop-moh':
      await t.stopMoh(callId);
      return undefined;
    case 'hangup':
      await t.hangup(c.channelId);
      return undefined;
    case 'hangup-caller':
      await t.hangup(callId);
      return undefined;
    case 'originate':
      await t.originate({ ...c.options, app: t.appName });
      return undefined;
    case 'create-bridge':
      await t.createBridge(c.bridgeId, 'mixing', c.bridgeId);
      // The call may end while the create is in flight (the caller hangs up just as the agent
      // answers): its cleanup ran without this bridge, so the late bridge goes here.
      if (host.state.phase === 'ended') {
        await t.destroyBridge(c.bridgeId).catch(() => undefined);
        throw new TelephonyError('not-found', 'createBridge', `call ${callId} ended while its bridge was created`);
      }
      return undefined;
    case 'destroy-bridge':
      await t.destroyBridge(c.bridgeId);
      return undefined;
    case 'add-to-bridge':
      await t.addToBridge(c.bridgeId, c.channelIds);
      return undefined;
    case 'remove-from-bridge':
      await t.removeFromBridge(c.bridgeId, c.channelIds);
      return undefined;
    case 'acd-enqueue': {
      const pos = await need(deps.acd).enqueue({ callId, skill: c.skill, priority: c.priority, joinedAt: c.joinedAt, lineNumber: c.lineNumber, language: c.language });
      return { type: 'enqueued', position: pos.position, expectedWaitSec: pos.expectedWaitSec };
    }
    case 'acd-position': {
      const pos = await need(deps.acd).position(callId);
      return { type: 'queue-position', position: pos ?? null };
    }
    case 'acd-adopt': {
      const r = await need(deps.acd).adoptCall(callId, c.agentId ?? undefined, c.at);
      return { type: 'acd-adopted', entry: r.entry, agent: r.agent };
    }
    case 'acd-request-callback':
      await need(deps.acd).requestCallback(callId, c.number, c.at);
      return undefined;
    case 'acd-offer-failed':
      await deps.acd?.offerFailed(c.offerId, c.reason, c.at);
      return undefined;
    case 'acd-offer-answered': {
      const ok = await need(deps.acd).offerAnswered(c.offerId, c.at);
      return { type: 'offer-answer', offerId: c.offerId, ok };
    }
    case 'acd-leave':
      await deps.acd?.leave(callId, c.reason, c.at);
      return undefined;
    case 'acd-call-ended':
      await deps.acd?.callEnded(callId, c.agentId, c.at);
      return undefined;
    case 'lookup-ticket':
      try {
        return { type: 'ticket-status', token: c.token, result: await deps.lookupTicket(c.ticketNo), error: null };
      } catch (err) {
        return { type: 'ticket-status', token: c.token, result: { found: false }, error: (err as Error).message };
      }
    case 'recording-start': {
      const rec = deps.recording;
      if (!rec) return undefined;
      const result = await rec.segmentStarted({
        callId,
        bridgeId: c.bridgeId,
        segment: c.segment,
        ...(c.party ? { agentId: c.party } : {}),
        recordingEnabled: c.enabled,
        // The welcome of the 12345 flow tells every caller the call is recorded.
        announce: host.state.record.path.some((p) => p.kind === 'prompt' && p.detail.includes(rec.announcementPrompt)),
      });
      return { type: 'segment-started', segment: c.segment, result };
    }
    case 'recording-end':
      await deps.recording?.segmentEnded({ callId, segment: c.segment });
      return undefined;
    case 'notify-agent':
      deps.notifyAgent?.(c.agentId, callId, c.notice);
      return undefined;
    case 'agent-connected':
      host.onAgentConnected?.(c.agentId, host.session);
      return undefined;
    case 'agent-ringing':
      host.onAgentRinging?.(c.agentId, host.session, c.change);
      return undefined;
    case 'loop-refused':
      host.log.warn({ hops: host.state.hops, dialed: host.state.record.dialed }, 'routing loop refused');
      deps.onLoopRefused?.(host.state.record);
      return undefined;
    case 'silent-call':
      await deps.guard?.recordSilent(c.number, c.source);
      return undefined;
    case 'cleanup': {
      // Each step is independent and tolerant; the recording stops before the bridge goes.
      const started = c.parallel.map((p) => runEffect(deps, host, p));
      if (c.recordingStop && deps.recording) {
        await deps.recording.callEnded(callId).catch((err: Error) => host.log.warn({ err: err.message }, 'recording stop failed'));
      }
      if (c.bridgeId) started.push(t.destroyBridge(c.bridgeId).then(() => undefined));
      const results = await Promise.allSettled(started);
      for (const r of results) if (r.status === 'rejected') host.log.warn({ err: String(r.reason) }, 'cleanup after call failed');
      return undefined;
    }
    case 'ended': {
      host.log.info({ outcome: c.record.outcome, steps: c.record.path.length }, 'call ended');
      const spooled = deps.onEnded(c.record);
      // The stored state goes once the record is on disk in the tickets outbox, not before: a crash
      // in between leaves the call to be adopted, and the adopter submits its record (the job id is
      // the call's, so a record submitted twice is one ticket). Never neither.
      const store = deps.store;
      if (store) {
        void Promise.resolve(spooled).then(
          () => store.remove(callId),
          (err: Error) => host.log.error({ err: err.message }, 'call record not spooled; its state is kept for adoption'),
        );
      }
      return undefined;
    }
    default: {
      const never: never = c;
      throw new Error(`unknown call effect ${JSON.stringify(never)}`);
    }
  }
}

function need<T>(v: T | undefined): T {
  if (v === undefined) throw new Error('no ACD configured');
  return v;
}

/** A channel variable from StasisStart's channelvars when Asterisk sent it (empty = unset), else asked over ARI. */
async function arrivalVariable<S>(host: EffectHost<S>, t: Telephony, callId: string, name: string): Promise<string | undefined> {
  const vars = host.arrival?.variables;
  if (vars && name in vars) return vars[name] || undefined;
  return t.getVariable(callId, name);
}
