/**
 * The start of a call: answer, read what the channel carries (partner reference, area, hop count),
 * refuse routing loops, ask the resolver and the caller guard where the call goes, and start the IVR.
 */
import { MAX_HOPS, parseHops } from '../../routing/loops.js';
import type { RouteDecision } from '../ports.js';
import { LOOP_ROUTE_ID, sanitizeRef, type CallEvent, type Command } from '../state.js';
import { emit, pathError, pathStep, type Draft } from './draft.js';
import { finish } from './ending.js';
import { runFlow } from './ivr.js';

export function begin(d: Draft): void {
  if (d.s.record.recovered) pathStep(d, 'note', 'session recovered after reconnect/restart');
  emit(d, { do: 'answer', why: 'begin:answer', then: { type: 'answered' } });
}

/** The answer went through (or failed for a reason other than the caller being gone). */
export function answered(d: Draft, ok: boolean): void {
  if (ok) d.s.record.answeredAt = d.now;
  const r = d.s.record;
  // No X-Hotline-Ref header: a partner may hand the reference over as a channel variable instead.
  if ((r.source === 'linkage' || r.source === 'subcenter') && !r.linkageRef) emit(d, { do: 'read-ref', why: 'begin:ref' });
  else readVars(d);
}

export function refRead(d: Draft, value: string | null): void {
  if (value) d.s.record.linkageRef = sanitizeRef(value);
  readVars(d);
}

/**
 * Trunks of several districts or cities share one server: the endpoint sets HOTLINE_AREA (pjsip
 * set_var). A leg we originated that came back into our app carries its hop count (routing/loops.ts).
 */
function readVars(d: Draft): void {
  emit(d, { do: 'read-vars', why: 'begin:vars' });
}

export function varsRead(d: Draft, e: { area: string | null; hops: string | null }): void {
  const s = d.s;
  if (e.area && /^[A-Za-z0-9_-]{1,32}$/.test(e.area)) s.record.area = e.area;
  s.hops = parseHops(e.hops ?? undefined);
  if (s.hops > MAX_HOPS) return refuseLoop(d);
  emit(d, {
    do: 'route',
    dialed: s.record.dialed,
    source: s.record.source,
    at: d.now,
    area: s.record.area ?? null,
    caller: s.record.caller.number,
    checkGuard: d.cfg.hasGuard,
    why: 'begin:route',
  });
}

/** What the table says when the table itself fails: the 12345 flow, so the caller is still served. */
const FALLBACK: RouteDecision = {
  action: 'hotline',
  routeId: 'fallback',
  skill: 'general',
  priority: 0,
  announce: [],
  expertFirst: false,
  flowId: 'hotline-zh',
  record: true,
  tableVersion: 0,
  why: ['routing failed'],
};

export function routed(d: Draft, e: Extract<CallEvent, { type: 'routed' }>): void {
  const s = d.s;
  let decision = e.decision;
  if (!decision) {
    // A broken routing table must not cost the caller the call: fall back to the 12345 flow.
    pathError(d, 'route', e.error ?? 'no decision');
    decision = FALLBACK;
  }
  const verdict = e.verdict;
  if (verdict.action === 'block') {
    pathStep(d, 'route', 'caller on the block list: notice, then released');
    decision = { action: 'release', routeId: 'blocklist', announce: [verdict.announce], record: false, tableVersion: decision.tableVersion, why: ['caller on the block list'] };
  } else if (verdict.action === 'limit') {
    pathStep(d, 'route', `caller limited (${verdict.reason}): notice, priority ${verdict.priorityDelta}`);
    decision = {
      ...decision,
      announce: [verdict.announce, ...decision.announce],
      ...(decision.action === 'hotline' ? { priority: decision.priority + verdict.priorityDelta } : {}),
    } as RouteDecision;
  }
  // A cancelled number that releases, or a blocked caller: the notice, then a polite end.
  if (decision.action === 'release') s.record.outcome = 'released';
  s.recording.enabled = decision.record;
  s.record.route = {
    id: decision.routeId,
    mode: decision.line?.mode ?? decision.action,
    ...(decision.line ? { line: decision.line.number } : {}),
    ...(decision.action === 'hotline' ? { skill: decision.skill } : {}),
  };
  pathStep(d, 'route', `${decision.action} via ${decision.routeId}`);
  startFlow(d, decision);
}

export function startFlow(d: Draft, decision: RouteDecision): void {
  d.s.phase = 'ivr';
  d.s.decision = decision;
  const first = d.cfg.flow.start({ decision, language: d.s.language, source: d.s.record.source, now: d.now });
  d.s.ivr = first.state;
  runFlow(d, first.commands);
}

/**
 * A call that has passed through our app more than {@link MAX_HOPS} times is a routing loop that
 * validation did not see: the caller hears that the system is busy and the call is released,
 * counted, and ends in its one ticket like any other; nothing is dialled from it.
 */
function refuseLoop(d: Draft): void {
  const s = d.s;
  pathStep(d, 'route', `routing loop: the call arrived after ${s.hops} hops through this server (limit ${MAX_HOPS}); refused`);
  emit(d, { do: 'loop-refused', why: 'loop-refused' });
  s.record.outcome = 'released';
  s.recording.enabled = false;
  s.record.route = { id: LOOP_ROUTE_ID, mode: 'release' };
  startFlow(d, { action: 'release', routeId: LOOP_ROUTE_ID, announce: ['system-busy'], record: false, tableVersion: 0, why: [`routing loop: ${s.hops} hops`] });
}

/** A start step failed: a caller already gone ends the call; anything else, carry on without it. */
export function beginFailed(d: Draft, cmd: Command, notFound: boolean, message: string): void {
  if (notFound) return finish(d, 'caller', 'abandoned-ivr');
  switch (cmd.why) {
    case 'begin:answer':
      pathError(d, 'answer', message);
      return answered(d, false);
    case 'begin:ref':
      return readVars(d);
    case 'begin:vars':
      return varsRead(d, { area: null, hops: null });
    default:
      // The resolver and the guard answer through `routed` even when they fail; anything else is ours.
      pathError(d, 'route', message);
      return routed(d, { type: 'routed', decision: null, error: message, verdict: { action: 'ok' } });
  }
}
