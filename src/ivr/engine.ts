/**
 * The IVR engine: a pure state machine over flows-as-data.
 *
 * @remarks
 * `start(flow, ctx)` → first {@link Step}; then `next(state, input, now)` for
 * every event the session sees (DTMF, playback finished, timer fired, ticket
 * looked up, agent hung up). The session executes `step.commands` in order and
 * keeps `step.state`. The engine never reads a clock, never does I/O and never
 * throws: an unexpected error or a caller looping through menus too long sends
 * the caller to an agent (the flow's `fallback` queue), never to a hangup.
 *
 * The IVR is over once a `queue`, `transfer` or `hangup` command has been
 * emitted (`isDone(state)`); after `queue`, an `agent-hung-up` input runs the
 * satisfaction survey flow (`ctx.surveyFlowId`) if there is one, else hangs up.
 *
 * How a session executes commands:
 * - `play`: ARI play of `media.map(mediaUri)` (skip undefined) with `lang`; when
 *   ARI reports the playback finished (also after a stop), send
 *   `playback-done` with the token (`failed: true` if it failed or could not
 *   start). If nothing is playable, send `playback-done` at once. `bargeIn`
 *   is informational: the engine decides what a digit does; just forward DTMF.
 * - `stop-playback`: stop that playback (ignore "not found").
 * - `start-timer` / `cancel-timer`: setTimeout/clearTimeout; on expiry send
 *   `timeout` with the token. Cancelling a timer that already fired is fine.
 * - `lookup-ticket`: look the ticket up and send `ticket-status` with the
 *   token. On a lookup error send nothing: the engine's own timer (started with
 *   the lookup) sends the caller to an agent.
 * - `queue` / `transfer` / `hangup`: the IVR is over; hand the call on.
 * - `survey-rating`: put the rating on the ticket. `set-language`: set the
 *   channel language. `path`: append to the call record.
 * Send `agent-hung-up` when the agent leaves first and the caller is still
 * there. A caller hanging up needs no input: just drop the state.
 */
import type {
  Condition,
  Flow,
  FlowNode,
  IvrCommand,
  IvrInput,
  IvrState,
  Lang,
  Media,
  MenuNode,
  CollectNode,
  PromptId,
  PromptRef,
  StartContext,
  Step,
  SurveyNode,
  SurveyRating,
  TicketLookupResult,
  TicketStatusNode,
} from './types.js';

export const DEFAULT_MAX_NODE_VISITS = 100;
export const DEFAULT_LOOKUP_TIMEOUT_MS = 8000;
export const DEFAULT_UTC_OFFSET_MINUTES = 480;
export const DEFAULT_FALLBACK = { skill: 'general', priority: 0 } as const;

/** Status codes with a `ticket-status-<code>` prompt; others are read as "processing". */
export const TICKET_STATUS_PROMPTS: Record<string, PromptId> = {
  accepted: 'ticket-status-accepted',
  dispatched: 'ticket-status-dispatched',
  processing: 'ticket-status-processing',
  replied: 'ticket-status-replied',
  closed: 'ticket-status-closed',
  returned: 'ticket-status-returned',
  extended: 'ticket-status-extended',
};

/** Prompt ids the engine itself plays (besides those named in flows). */
export const ENGINE_PROMPTS: readonly PromptId[] = [
  ...Object.values(TICKET_STATUS_PROMPTS),
  'ticket-intro',
  'ticket-status-is',
  'ticket-unit-is',
  'ticket-due-is',
  'ticket-not-found',
  'ticket-not-found-retry',
  'ticket-lookup-failed',
  'date-year',
  'date-month',
  'date-day',
  ...Array.from({ length: 12 }, (_, i) => `month-${i + 1}`),
  'invalid',
  'timeout',
];

const DTMF = /^[0-9*#A-D]$/;

/** ARI media URI for one {@link Media}; undefined for `text` (no recording; TTS or skip). */
export function mediaUri(m: Media): string | undefined {
  switch (m.kind) {
    case 'prompt':
      return `sound:hotline/${m.id}`;
    case 'digits':
      return `digits:${m.value}`;
    case 'number':
      return `number:${m.value}`;
    default:
      return undefined;
  }
}

/** True once the IVR has handed the caller on (queue/transfer) or hung up. */
export function isDone(state: IvrState): boolean {
  return state.phase.kind === 'done';
}

/**
 * A state that has not started yet; `next(state, {type:'start'}, now)` begins it.
 * Equivalent to `start()` but lets the session own the first event.
 */
export function init(flow: Flow, ctx: StartContext): IvrState {
  const { flows, now, ...rest } = ctx;
  return {
    v: 1,
    flows: { ...(flows ?? {}), [flow.id]: flow },
    flowId: flow.id,
    nodeId: flow.start,
    phase: { kind: 'idle' },
    lang: ctx.lang ?? flow.lang ?? 'zh',
    slots: {},
    errors: 0,
    notFound: {},
    visits: 0,
    seq: 0,
    ctx: rest,
    startedAt: now,
    surveyed: false,
  };
}

/** Start a call in `flow`: announcements (ctx.announce) first, then the flow's start node. */
export function start(flow: Flow, ctx: StartContext): Step {
  return next(init(flow, ctx), { type: 'start' }, ctx.now);
}

/** Feed one input. Never throws; inputs that do not apply (stale tokens, digits while not listening) yield no commands. */
export function next(state: IvrState, input: IvrInput, now: number): Step {
  const s = cloneState(state);
  const out: IvrCommand[] = [];
  try {
    handle(s, input, now, out);
    return { state: s, commands: out };
  } catch (err) {
    // Whatever went wrong, the caller goes to an agent.
    const s2 = cloneState(state);
    const out2: IvrCommand[] = [];
    try {
      clearPhase(s2, out2);
      const reason = err instanceof Error ? err.message : String(err);
      fallback(s2, out2, `engine error: ${reason}`);
    } catch {
      out2.length = 0;
      out2.push({ type: 'queue', skill: DEFAULT_FALLBACK.skill, priority: 0 });
      s2.phase = { kind: 'done', outcome: 'queue' };
    }
    return { state: s2, commands: out2 };
  }
}

// ---------------------------------------------------------------------------

function cloneState(state: IvrState): IvrState {
  return {
    ...state,
    phase: { ...state.phase } as IvrState['phase'],
    slots: { ...state.slots },
    notFound: { ...state.notFound },
  };
}

function currentFlow(s: IvrState): Flow {
  const flow = s.flows[s.flowId];
  if (!flow) throw new Error(`unknown flow "${s.flowId}"`);
  return flow;
}

function currentNode(s: IvrState): FlowNode {
  const node = currentFlow(s).nodes[s.nodeId];
  if (!node) throw new Error(`unknown node "${s.nodeId}"`);
  return node;
}

function nodeRef(s: IvrState): string {
  return `${s.flowId}.${s.nodeId}`;
}

function path(s: IvrState, out: IvrCommand[], detail: string): void {
  out.push({ type: 'path', node: nodeRef(s), detail });
}

function token(s: IvrState, kind: 'p' | 't' | 'l'): string {
  s.seq += 1;
  return `${kind}${s.seq}`;
}

function promptList(ref: PromptRef | undefined): PromptId[] {
  if (ref === undefined) return [];
  return Array.isArray(ref) ? ref : [ref];
}

function prompts(ids: PromptId[]): Media[] {
  return ids.map((id) => ({ kind: 'prompt', id }));
}

function play(s: IvrState, out: IvrCommand[], media: Media[], bargeIn: boolean): string {
  const t = token(s, 'p');
  out.push({ type: 'play', token: t, media, lang: s.lang, bargeIn });
  return t;
}

function startTimer(s: IvrState, out: IvrCommand[], ms: number): string {
  const t = token(s, 't');
  out.push({ type: 'start-timer', token: t, ms });
  return t;
}

/** Stop whatever the current phase has outstanding (used when leaving it abnormally). */
function clearPhase(s: IvrState, out: IvrCommand[]): void {
  const p = s.phase;
  if (p.kind === 'playing') out.push({ type: 'stop-playback', token: p.token });
  if ((p.kind === 'menu' || p.kind === 'collect' || p.kind === 'survey') && p.playToken) {
    out.push({ type: 'stop-playback', token: p.playToken });
  }
  if ((p.kind === 'menu' || p.kind === 'collect' || p.kind === 'survey') && p.timerToken) {
    out.push({ type: 'cancel-timer', token: p.timerToken });
  }
  if (p.kind === 'lookup') out.push({ type: 'cancel-timer', token: p.timerToken });
  s.phase = { kind: 'idle' };
}

function fallback(s: IvrState, out: IvrCommand[], reason: string): void {
  const fb = s.flows[s.flowId]?.fallback ?? DEFAULT_FALLBACK;
  out.push({ type: 'path', node: nodeRef(s), detail: `fallback to agent: ${reason}` });
  out.push({ type: 'queue', skill: fb.skill, priority: (s.ctx.priority ?? 0) + (fb.priority ?? 0) });
  s.phase = { kind: 'done', outcome: 'queue' };
}

function handle(s: IvrState, input: IvrInput, now: number, out: IvrCommand[]): void {
  if (!input || typeof input !== 'object') return;
  switch (input.type) {
    case 'start':
      if (s.phase.kind === 'idle') begin(s, out, now);
      return;
    case 'dtmf':
      if (typeof input.digit === 'string' && DTMF.test(input.digit)) onDtmf(s, input.digit, now, out);
      return;
    case 'playback-done':
      onPlaybackDone(s, input.token, input.failed === true, now, out);
      return;
    case 'timeout':
      onTimeout(s, input.token, now, out);
      return;
    case 'ticket-status':
      onTicketStatus(s, input.token, input.result, now, out);
      return;
    case 'agent-hung-up':
      onAgentHungUp(s, now, out);
      return;
    default:
      return;
  }
}

function begin(s: IvrState, out: IvrCommand[], now: number): void {
  const flow = currentFlow(s);
  const announce = (s.ctx.announce ?? []).filter((id) => typeof id === 'string' && id.length > 0);
  if (announce.length > 0) {
    s.nodeId = flow.start;
    out.push({ type: 'path', node: `${flow.id}.announce`, detail: `announce ${announce.join(',')}` });
    const t = play(s, out, prompts(announce), false);
    s.phase = { kind: 'playing', token: t, then: { goto: flow.start }, bargeIn: false };
    return;
  }
  enter(s, flow.start, now, out);
}

/**
 * Enter a node and run through the nodes that need no event (when, language,
 * subflow) until one waits or the IVR ends. `typeAhead` is a digit pressed
 * during a barge-in play, handed to the next menu/collect.
 */
function enter(s: IvrState, nodeId: string, now: number, out: IvrCommand[], typeAhead?: string): void {
  let id = nodeId;
  for (;;) {
    s.visits += 1;
    const flow = currentFlow(s);
    if (s.visits > (flow.maxNodeVisits ?? DEFAULT_MAX_NODE_VISITS)) {
      fallback(s, out, 'too many steps in the IVR');
      return;
    }
    const node = flow.nodes[id];
    s.nodeId = id;
    s.errors = 0;
    if (!node || typeof node !== 'object') {
      fallback(s, out, `unknown node "${id}"`);
      return;
    }
    switch (node.type) {
      case 'play': {
        path(s, out, `play ${node.prompts.join(',')}`);
        const bargeIn = node.bargeIn === true;
        const t = play(s, out, prompts(node.prompts), bargeIn);
        s.phase = { kind: 'playing', token: t, then: { goto: node.next }, bargeIn };
        return;
      }
      case 'menu':
        path(s, out, 'menu');
        if (typeAhead !== undefined) {
          s.phase = { kind: 'menu' };
          menuChoice(s, node, typeAhead, now, out);
        } else {
          const t = play(s, out, prompts(promptList(node.prompt)), node.bargeIn !== false);
          s.phase = { kind: 'menu', playToken: t };
        }
        return;
      case 'collect':
        path(s, out, `collect ${node.slot}`);
        if (typeAhead !== undefined) {
          s.phase = { kind: 'collect', digits: '' };
          collectDigit(s, node, typeAhead, now, out);
        } else {
          const t = play(s, out, prompts(promptList(node.prompt)), true);
          s.phase = { kind: 'collect', playToken: t, digits: '' };
        }
        return;
      case 'queue': {
        const skill = (node.skillFromContext && s.ctx.skill) || node.skill || DEFAULT_FALLBACK.skill;
        const priority = (s.ctx.priority ?? 0) + (node.priority ?? 0);
        path(s, out, `queue ${skill} priority ${priority}`);
        out.push({ type: 'queue', skill, priority });
        s.phase = { kind: 'done', outcome: 'queue' };
        return;
      }
      case 'transfer':
        path(s, out, `transfer ${node.target}`);
        out.push({ type: 'transfer', target: node.target });
        s.phase = { kind: 'done', outcome: 'transfer' };
        return;
      case 'hangup':
        if (node.prompt) {
          path(s, out, `hangup after ${node.prompt}`);
          const t = play(s, out, prompts([node.prompt]), false);
          s.phase = { kind: 'playing', token: t, then: { hangup: true }, bargeIn: false };
        } else {
          path(s, out, 'hangup');
          out.push({ type: 'hangup', cause: 'normal' });
          s.phase = { kind: 'done', outcome: 'hangup' };
        }
        return;
      case 'subflow': {
        const target = s.flows[node.flowId];
        if (!target) {
          fallback(s, out, `unknown flow "${node.flowId}"`);
          return;
        }
        path(s, out, `subflow ${node.flowId}`);
        s.flowId = node.flowId;
        if (target.lang && target.lang !== s.lang) setLanguage(s, target.lang, out);
        id = target.start;
        continue;
      }
      case 'when': {
        const hit = node.cases.find((c) => c.if.every((cond) => holds(s, cond, now)));
        const to = hit ? hit.next : node.else;
        path(s, out, `when → ${to}`);
        id = to;
        continue;
      }
      case 'language':
        path(s, out, `language ${node.lang}`);
        setLanguage(s, node.lang, out);
        id = node.next;
        continue;
      case 'ticketStatus': {
        const ticketNo = s.slots[node.slot] ?? '';
        path(s, out, `lookup ticket ${ticketNo}`);
        const l = token(s, 'l');
        out.push({ type: 'lookup-ticket', token: l, ticketNo });
        const t = startTimer(s, out, node.lookupTimeoutMs ?? DEFAULT_LOOKUP_TIMEOUT_MS);
        s.phase = { kind: 'lookup', token: l, timerToken: t };
        return;
      }
      case 'article': {
        const a = s.ctx.articles?.[node.articleId];
        if (!a || typeof a.promptId !== 'string' || !a.promptId) {
          // Retired, expired or never published: the caller must not hear an outdated answer.
          path(s, out, `article ${node.articleId} unavailable → ${node.onUnavailable}`);
          id = node.onUnavailable;
          continue;
        }
        path(s, out, `article ${node.articleId} v${a.version}`);
        const bargeIn = node.bargeIn !== false;
        const t = play(s, out, prompts([a.promptId]), bargeIn);
        s.phase = { kind: 'playing', token: t, then: { goto: node.next }, bargeIn };
        return;
      }
      case 'survey': {
        path(s, out, 'survey');
        const t = play(s, out, prompts(promptList(node.prompt)), true);
        s.phase = { kind: 'survey', playToken: t };
        return;
      }
      default:
        fallback(s, out, `unknown node type "${(node as { type?: unknown }).type}"`);
        return;
    }
  }
}

function setLanguage(s: IvrState, lang: Lang, out: IvrCommand[]): void {
  s.lang = lang;
  out.push({ type: 'set-language', lang });
}

// --- events ------------------------------------------------------------------

function onDtmf(s: IvrState, digit: string, now: number, out: IvrCommand[]): void {
  const p = s.phase;
  switch (p.kind) {
    case 'playing':
      if (!p.bargeIn) return;
      out.push({ type: 'stop-playback', token: p.token });
      path(s, out, `dtmf ${digit} (barge-in)`);
      if ('goto' in p.then) {
        s.phase = { kind: 'idle' };
        enter(s, p.then.goto, now, out, digit);
      } else {
        hangupNow(s, out);
      }
      return;
    case 'menu': {
      const node = currentNode(s) as MenuNode;
      if (p.playToken) {
        if (node.bargeIn === false) return;
        out.push({ type: 'stop-playback', token: p.playToken });
        delete p.playToken; // absent, not undefined: the state round-trips through JSON
      }
      if (p.timerToken) {
        out.push({ type: 'cancel-timer', token: p.timerToken });
        delete p.timerToken;
      }
      menuChoice(s, node, digit, now, out);
      return;
    }
    case 'collect': {
      const node = currentNode(s) as CollectNode;
      if (p.playToken) {
        out.push({ type: 'stop-playback', token: p.playToken });
        delete p.playToken; // absent, not undefined: the state round-trips through JSON
      }
      if (p.timerToken) {
        out.push({ type: 'cancel-timer', token: p.timerToken });
        delete p.timerToken;
      }
      collectDigit(s, node, digit, now, out);
      return;
    }
    case 'survey': {
      const node = currentNode(s) as SurveyNode;
      if (p.playToken) {
        out.push({ type: 'stop-playback', token: p.playToken });
        delete p.playToken; // absent, not undefined: the state round-trips through JSON
      }
      if (p.timerToken) {
        out.push({ type: 'cancel-timer', token: p.timerToken });
        delete p.timerToken;
      }
      surveyDigit(s, node, digit, now, out);
      return;
    }
    default:
      // idle, lookup, done: digits are not listened to.
      return;
  }
}

function onPlaybackDone(s: IvrState, tok: unknown, failed: boolean, now: number, out: IvrCommand[]): void {
  if (typeof tok !== 'string') return;
  const p = s.phase;
  if (p.kind === 'playing' && p.token === tok) {
    if (failed) path(s, out, 'playback failed');
    if ('goto' in p.then) {
      s.phase = { kind: 'idle' };
      enter(s, p.then.goto, now, out);
    } else {
      hangupNow(s, out);
    }
    return;
  }
  if ((p.kind === 'menu' || p.kind === 'collect' || p.kind === 'survey') && p.playToken === tok) {
    if (failed) path(s, out, 'playback failed');
    delete p.playToken; // absent, not undefined: the state round-trips through JSON
    const node = currentNode(s) as MenuNode | CollectNode | SurveyNode;
    p.timerToken = startTimer(s, out, node.timeoutMs);
  }
}

function onTimeout(s: IvrState, tok: unknown, now: number, out: IvrCommand[]): void {
  if (typeof tok !== 'string') return;
  const p = s.phase;
  switch (p.kind) {
    case 'menu':
      if (p.timerToken !== tok) return;
      delete p.timerToken;
      menuError(s, currentNode(s) as MenuNode, 'timeout', now, out);
      return;
    case 'collect': {
      if (p.timerToken !== tok) return;
      delete p.timerToken;
      const node = currentNode(s) as CollectNode;
      if (p.digits.length > 0 && p.digits.length >= node.min) {
        collectAccept(s, node, p.digits, now, out);
      } else {
        collectError(s, node, p.digits.length === 0 ? 'timeout' : 'invalid', now, out);
      }
      return;
    }
    case 'survey':
      if (p.timerToken !== tok) return;
      delete p.timerToken;
      surveyError(s, currentNode(s) as SurveyNode, 'timeout', now, out);
      return;
    case 'lookup': {
      if (p.timerToken !== tok) return;
      const node = currentNode(s) as TicketStatusNode;
      path(s, out, 'ticket lookup timed out');
      const t = play(s, out, prompts(['ticket-lookup-failed']), false);
      s.phase = { kind: 'playing', token: t, then: { goto: node.onExhausted }, bargeIn: false };
      return;
    }
    default:
      return;
  }
}

function onTicketStatus(s: IvrState, tok: unknown, result: TicketLookupResult | undefined, now: number, out: IvrCommand[]): void {
  const p = s.phase;
  if (p.kind !== 'lookup' || p.token !== tok) return;
  out.push({ type: 'cancel-timer', token: p.timerToken });
  const node = currentNode(s) as TicketStatusNode;
  const key = nodeRef(s);
  if (result && typeof result === 'object' && result.found === true) {
    delete s.notFound[key];
    const status = typeof result.status === 'string' ? result.status : 'processing';
    path(s, out, `ticket found: ${status}`);
    const media = ticketMedia(s.lang, s.slots[node.slot] ?? '', result);
    const t = play(s, out, media, false);
    s.phase = { kind: 'playing', token: t, then: { goto: node.next }, bargeIn: false };
    return;
  }
  const count = (s.notFound[key] ?? 0) + 1;
  s.notFound[key] = count;
  if (count > node.retries) {
    path(s, out, `ticket not found (${count}), to agent`);
    const t = play(s, out, prompts(['ticket-not-found']), false);
    s.phase = { kind: 'playing', token: t, then: { goto: node.onExhausted }, bargeIn: false };
  } else {
    path(s, out, `ticket not found (${count}), try again`);
    const t = play(s, out, prompts(['ticket-not-found-retry']), false);
    s.phase = { kind: 'playing', token: t, then: { goto: node.retryNode }, bargeIn: false };
  }
}

function onAgentHungUp(s: IvrState, now: number, out: IvrCommand[]): void {
  const p = s.phase;
  if (p.kind !== 'done' || p.outcome !== 'queue' || s.surveyed) return;
  s.surveyed = true;
  const id = s.ctx.surveyFlowId;
  const survey = id ? s.flows[id] : undefined;
  if (!survey) {
    out.push({ type: 'path', node: nodeRef(s), detail: 'agent hung up, no survey' });
    hangupNow(s, out);
    return;
  }
  out.push({ type: 'path', node: nodeRef(s), detail: `agent hung up, survey ${survey.id}` });
  s.flowId = survey.id;
  s.visits = 0;
  s.phase = { kind: 'idle' };
  enter(s, survey.start, now, out);
}

function hangupNow(s: IvrState, out: IvrCommand[]): void {
  out.push({ type: 'hangup', cause: 'normal' });
  s.phase = { kind: 'done', outcome: 'hangup' };
}

// --- menu ------------------------------------------------------------------------

function menuChoice(s: IvrState, node: MenuNode, digit: string, now: number, out: IvrCommand[]): void {
  if (Object.prototype.hasOwnProperty.call(node.options, digit)) {
    const to = node.options[digit] as string;
    path(s, out, `dtmf ${digit} → ${to}`);
    s.phase = { kind: 'idle' };
    enter(s, to, now, out);
    return;
  }
  path(s, out, `dtmf ${digit} invalid`);
  menuError(s, node, 'invalid', now, out);
}

function menuError(s: IvrState, node: MenuNode, why: 'timeout' | 'invalid', now: number, out: IvrCommand[]): void {
  s.errors += 1;
  if (why === 'timeout') path(s, out, `timeout ${s.errors}`);
  if (s.errors > node.retries) {
    path(s, out, `retries exhausted → ${node.onExhausted}`);
    s.phase = { kind: 'idle' };
    enter(s, node.onExhausted, now, out);
    return;
  }
  const lead = why === 'timeout' ? node.timeoutPrompt : node.invalidPrompt;
  const t = play(s, out, prompts([lead, ...promptList(node.prompt)]), node.bargeIn !== false);
  s.phase = { kind: 'menu', playToken: t };
}

// --- collect ---------------------------------------------------------------------

function collectDigit(s: IvrState, node: CollectNode, digit: string, now: number, out: IvrCommand[]): void {
  const p = s.phase;
  if (p.kind !== 'collect') return;
  if (digit === (node.terminator ?? '#')) {
    if (p.digits.length > 0 && p.digits.length >= node.min) collectAccept(s, node, p.digits, now, out);
    else collectError(s, node, 'invalid', now, out);
    return;
  }
  if (!/^[0-9]$/.test(digit)) {
    collectError(s, node, 'invalid', now, out);
    return;
  }
  p.digits += digit;
  if (p.digits.length >= node.max) {
    collectAccept(s, node, p.digits, now, out);
    return;
  }
  p.timerToken = startTimer(s, out, node.timeoutMs);
}

function collectAccept(s: IvrState, node: CollectNode, digits: string, now: number, out: IvrCommand[]): void {
  s.slots[node.slot] = digits;
  path(s, out, `collected ${node.slot}=${digits}`);
  s.phase = { kind: 'idle' };
  enter(s, node.next, now, out);
}

function collectError(s: IvrState, node: CollectNode, why: 'timeout' | 'invalid', now: number, out: IvrCommand[]): void {
  s.errors += 1;
  path(s, out, `${why} ${s.errors}`);
  if (s.errors > node.retries) {
    path(s, out, `retries exhausted → ${node.onExhausted}`);
    s.phase = { kind: 'idle' };
    enter(s, node.onExhausted, now, out);
    return;
  }
  const lead = why === 'timeout' ? (node.timeoutPrompt ?? 'timeout') : (node.invalidPrompt ?? 'invalid');
  const t = play(s, out, prompts([lead, ...promptList(node.prompt)]), true);
  s.phase = { kind: 'collect', playToken: t, digits: '' };
}

// --- survey ----------------------------------------------------------------------

function surveyDigit(s: IvrState, node: SurveyNode, digit: string, now: number, out: IvrCommand[]): void {
  if (/^[1-4]$/.test(digit)) {
    const rating = Number(digit) as SurveyRating;
    s.rating = rating;
    path(s, out, `rating ${rating}`);
    out.push({ type: 'survey-rating', rating });
    s.phase = { kind: 'idle' };
    enter(s, node.next, now, out);
    return;
  }
  path(s, out, `dtmf ${digit} invalid`);
  surveyError(s, node, 'invalid', now, out);
}

function surveyError(s: IvrState, node: SurveyNode, why: 'timeout' | 'invalid', now: number, out: IvrCommand[]): void {
  s.errors += 1;
  if (why === 'timeout') path(s, out, `timeout ${s.errors}`);
  if (s.errors > node.retries) {
    path(s, out, 'no rating');
    s.phase = { kind: 'idle' };
    enter(s, node.next, now, out);
    return;
  }
  const lead = why === 'timeout' ? node.timeoutPrompt : node.invalidPrompt;
  const t = play(s, out, prompts([lead, ...promptList(node.prompt)]), true);
  s.phase = { kind: 'survey', playToken: t };
}

// --- ticket read-out ---------------------------------------------------------------

/** The media that reads a found ticket back: number, status, handling unit, due date. */
export function ticketMedia(lang: Lang, ticketNo: string, r: Extract<TicketLookupResult, { found: true }>): Media[] {
  const media: Media[] = [{ kind: 'prompt', id: 'ticket-intro' }];
  if (/^[0-9]+$/.test(ticketNo)) media.push({ kind: 'digits', value: ticketNo });
  media.push({ kind: 'prompt', id: 'ticket-status-is' });
  const status = typeof r.status === 'string' ? r.status : '';
  media.push({ kind: 'prompt', id: TICKET_STATUS_PROMPTS[status] ?? 'ticket-status-processing' });
  if (typeof r.unitPromptId === 'string' && r.unitPromptId) {
    media.push({ kind: 'prompt', id: 'ticket-unit-is' }, { kind: 'prompt', id: r.unitPromptId });
  } else if (typeof r.unitName === 'string' && r.unitName.trim()) {
    media.push({ kind: 'prompt', id: 'ticket-unit-is' }, { kind: 'text', value: r.unitName.trim() });
  }
  const date = typeof r.dueDate === 'string' ? dateMedia(lang, r.dueDate) : [];
  if (date.length > 0) media.push({ kind: 'prompt', id: 'ticket-due-is' }, ...date);
  return media;
}

/**
 * A date said with numbers and prompt parts: zh "2026 年 11 月 22 日"
 * (number, date-year, number, date-month, number, date-day); en "November 22, 2026"
 * (month-11, number 22, number 2026). Malformed dates give [].
 */
export function dateMedia(lang: Lang, ymd: string): Media[] {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(ymd);
  if (!m) return [];
  const y = Number(m[1]);
  const mo = Number(m[2]);
  const d = Number(m[3]);
  if (mo < 1 || mo > 12 || d < 1 || d > 31) return [];
  if (lang === 'en') {
    return [
      { kind: 'prompt', id: `month-${mo}` },
      { kind: 'number', value: d },
      { kind: 'number', value: y },
    ];
  }
  return [
    { kind: 'number', value: y },
    { kind: 'prompt', id: 'date-year' },
    { kind: 'number', value: mo },
    { kind: 'prompt', id: 'date-month' },
    { kind: 'number', value: d },
    { kind: 'prompt', id: 'date-day' },
  ];
}

// --- conditions --------------------------------------------------------------------

/** Local calendar facts of `now` in the flow's time zone. */
export function localTime(now: number, utcOffsetMinutes: number): { date: string; minutes: number; isoWeekday: number } {
  const d = new Date(now + utcOffsetMinutes * 60_000);
  const date = d.toISOString().slice(0, 10);
  const day = d.getUTCDay();
  return { date, minutes: d.getUTCHours() * 60 + d.getUTCMinutes(), isoWeekday: day === 0 ? 7 : day };
}

function hhmm(v: unknown): number | undefined {
  if (typeof v !== 'string') return undefined;
  const m = /^([01]\d|2[0-4]):([0-5]\d)$/.exec(v);
  if (!m) return undefined;
  const mins = Number(m[1]) * 60 + Number(m[2]);
  return mins <= 24 * 60 ? mins : undefined;
}

function holds(s: IvrState, c: Condition, now: number): boolean {
  const offset = s.flows[s.flowId]?.utcOffsetMinutes ?? DEFAULT_UTC_OFFSET_MINUTES;
  const t = localTime(now, offset);
  const holiday = (s.ctx.holidays ?? []).includes(t.date);
  switch (c.kind) {
    case 'time': {
      const from = hhmm(c.from);
      const to = hhmm(c.to);
      if (from === undefined || to === undefined) return false;
      return from <= to ? t.minutes >= from && t.minutes < to : t.minutes >= from || t.minutes < to;
    }
    case 'weekday':
      return Array.isArray(c.days) && c.days.includes(t.isoWeekday);
    case 'holiday':
      return holiday === c.is;
    case 'workday': {
      const adjusted = (s.ctx.workdays ?? []).includes(t.date);
      const workday = adjusted || (t.isoWeekday <= 5 && !holiday);
      return workday === c.is;
    }
    case 'context': {
      const v = s.ctx[c.field];
      return matchValue(typeof v === 'string' && v !== '' ? v : undefined, c.present, c.equals);
    }
    case 'slot':
      return matchValue(s.slots[c.name], c.present, c.equals);
    case 'lang':
      return s.lang === c.is;
    default:
      return false;
  }
}

function matchValue(v: string | undefined, present: boolean | undefined, equals: string | undefined): boolean {
  if (equals !== undefined) return v === equals;
  return (present ?? true) === (v !== undefined);
}
