/**
 * The default 12345 flows: zh-CN main flow, its English mirror, and the
 * satisfaction survey.
 *
 * @remarks
 * Call order (see {@link defaultStartContext}):
 * 1. Route announcements (`ctx.announce`, e.g. `transition-generic` for a
 *    legacy line in its transition period) — played by the engine before the flow.
 * 2. A caller from a legacy line with a skill (`ctx.skill`, e.g. "12333")
 *    skips the main menu: recording notice + "transferring to the specialist
 *    desk", then the queue of that skill. They dialed a specialist number; a
 *    general menu would make them choose again what they already chose.
 * 3. Everyone else: welcome + recording notice (barge-in), then the main menu:
 *    1 consultation/complaint → general, 2 enterprise (营商环境专席) → skill
 *    `enterprise`, 3 ticket progress self-service, 4… the city's specialist lines
 *    (default 4 medical insurance → `medical-insurance`), 0 agent, 8
 *    out-of-scope notice then back to the menu, 9 English.
 * Menu errors re-prompt twice, then go to an agent. The English flow mirrors
 * the menu with 9 → Chinese.
 */
import type { Flow, FlowNode, Lang, PromptId, StartContext } from './types.js';

export interface SpecialistLine {
  /** Menu digit, not one of 0, 1, 2, 3, 8, 9. */
  digit: string;
  skill: string;
  /** Menu prompt naming the line and its digit, e.g. "menu-medical-insurance". */
  prompt: PromptId;
}

export interface DefaultFlowOptions {
  /** The city's specialist lines on the main menu. Default: 4 → medical insurance. */
  specialists?: SpecialistLine[];
  /** Main menu silence timeout. Default 6000 ms. */
  menuTimeoutMs?: number;
  /** Re-prompts before an agent. Default 2. */
  menuRetries?: number;
}

export const ZH_FLOW_ID = 'hotline-zh';
export const EN_FLOW_ID = 'hotline-en';
export const SURVEY_FLOW_ID = 'survey';

export const DEFAULT_SPECIALISTS: SpecialistLine[] = [
  { digit: '4', skill: 'medical-insurance', prompt: 'menu-medical-insurance' },
];

const RESERVED_DIGITS = new Set(['0', '1', '2', '3', '8', '9', '*', '#']);

function mainFlow(lang: Lang, opts: DefaultFlowOptions): Flow {
  const specialists = opts.specialists ?? DEFAULT_SPECIALISTS;
  for (const s of specialists) {
    if (RESERVED_DIGITS.has(s.digit) || !/^[0-9]$/.test(s.digit)) {
      throw new Error(`specialists: digit "${s.digit}" is reserved or not a digit`);
    }
  }
  const timeoutMs = opts.menuTimeoutMs ?? 6000;
  const retries = opts.menuRetries ?? 2;
  const other = lang === 'zh' ? { lang: 'en' as const, flowId: EN_FLOW_ID, prompt: 'menu-english' } : { lang: 'zh' as const, flowId: ZH_FLOW_ID, prompt: 'menu-chinese' };

  const options: Record<string, string> = {
    '1': 'to-general',
    '2': 'to-enterprise',
    '3': 'ticket-collect',
    '0': 'to-agent',
    '8': 'out-of-scope',
    '9': 'switch-language',
  };
  const nodes: Record<string, FlowNode> = {
    entry: {
      type: 'when',
      cases: [{ if: [{ kind: 'context', field: 'skill', present: true }], next: 'legacy-notice' }],
      else: 'welcome',
    },
    'legacy-notice': { type: 'play', prompts: ['recording-notice', 'legacy-transferring'], next: 'legacy-queue' },
    'legacy-queue': { type: 'queue', skill: 'general', skillFromContext: true },
    welcome: { type: 'play', prompts: ['welcome', 'recording-notice'], next: 'main', bargeIn: true },
    main: {
      type: 'menu',
      prompt: [
        'menu-intro',
        'menu-consult',
        'menu-enterprise',
        'menu-ticket',
        ...specialists.map((s) => s.prompt),
        'menu-out-of-scope',
        'menu-agent',
        other.prompt,
      ],
      options,
      timeoutMs,
      retries,
      invalidPrompt: 'invalid',
      timeoutPrompt: 'timeout',
      onExhausted: 'to-agent',
    },
    'to-general': { type: 'play', prompts: ['transferring-to-agent'], next: 'queue-general' },
    'queue-general': { type: 'queue', skill: 'general' },
    'to-agent': { type: 'play', prompts: ['transferring-to-agent'], next: 'queue-general' },
    'to-enterprise': { type: 'play', prompts: ['transferring-to-agent'], next: 'queue-enterprise' },
    'queue-enterprise': { type: 'queue', skill: 'enterprise' },
    'out-of-scope': { type: 'play', prompts: ['out-of-scope'], next: 'main', bargeIn: true },
    'switch-language': { type: 'language', lang: other.lang, next: 'to-other-flow' },
    'to-other-flow': { type: 'subflow', flowId: other.flowId },
    'ticket-collect': {
      type: 'collect',
      prompt: 'ticket-enter-number',
      min: 4,
      max: 20,
      terminator: '#',
      timeoutMs: 8000,
      retries: 2,
      slot: 'ticketNo',
      next: 'ticket-lookup',
      onExhausted: 'to-agent',
    },
    'ticket-lookup': {
      type: 'ticketStatus',
      slot: 'ticketNo',
      next: 'ticket-after',
      retryNode: 'ticket-collect',
      retries: 1,
      onExhausted: 'to-agent',
    },
    'ticket-after': {
      type: 'menu',
      prompt: 'ticket-after-menu',
      options: { '1': 'ticket-lookup', '2': 'ticket-collect', '*': 'main', '0': 'to-agent' },
      timeoutMs,
      retries: 1,
      invalidPrompt: 'invalid',
      timeoutPrompt: 'timeout',
      onExhausted: 'to-agent',
    },
  };
  for (const s of specialists) {
    options[s.digit] = `to-${s.skill}`;
    nodes[`to-${s.skill}`] = { type: 'play', prompts: ['transferring-to-agent'], next: `queue-${s.skill}` };
    nodes[`queue-${s.skill}`] = { type: 'queue', skill: s.skill };
  }
  return {
    id: lang === 'zh' ? ZH_FLOW_ID : EN_FLOW_ID,
    version: '1',
    description: lang === 'zh' ? '12345 main flow (zh-CN)' : '12345 main flow (English mirror)',
    start: 'entry',
    lang,
    fallback: { skill: 'general' },
    nodes,
  };
}

/** The satisfaction survey run when the agent hangs up first (好差评). */
export function surveyFlow(): Flow {
  return {
    id: SURVEY_FLOW_ID,
    version: '1',
    description: 'Satisfaction survey after the agent hangs up',
    start: 'ask',
    fallback: { skill: 'general' },
    nodes: {
      ask: {
        type: 'survey',
        prompt: 'survey',
        timeoutMs: 6000,
        retries: 1,
        invalidPrompt: 'invalid',
        timeoutPrompt: 'timeout',
        next: 'thanks',
      },
      thanks: { type: 'hangup', prompt: 'survey-thanks' },
    },
  };
}

/** The default flows by id: `hotline-zh`, `hotline-en`, `survey`. */
export function buildDefaultFlows(opts: DefaultFlowOptions = {}): Record<string, Flow> {
  return {
    [ZH_FLOW_ID]: mainFlow('zh', opts),
    [EN_FLOW_ID]: mainFlow('en', opts),
    [SURVEY_FLOW_ID]: surveyFlow(),
  };
}

/**
 * A start context for the default flows. `announce` are the route's prompt ids
 * (transition/cancellation notices), `skill` a legacy line's skill, `priority`
 * the route's base priority.
 */
export function defaultStartContext(
  flows: Record<string, Flow>,
  fields: Omit<StartContext, 'flows' | 'surveyFlowId'>,
): StartContext {
  return { ...fields, flows, surveyFlowId: SURVEY_FLOW_ID };
}

/**
 * A copy of `flow` that plays `promptIds` before its start node (for callers
 * that keep announcements in the flow rather than in `ctx.announce`).
 */
export function withAnnouncements(flow: Flow, promptIds: PromptId[]): Flow {
  if (promptIds.length === 0) return flow;
  let id = 'announce';
  while (id in flow.nodes) id = `_${id}`;
  return {
    ...flow,
    start: id,
    nodes: { ...flow.nodes, [id]: { type: 'play', prompts: [...promptIds], next: flow.start } },
  };
}
