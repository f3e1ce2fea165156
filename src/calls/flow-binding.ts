/**
 * Binds the pure IVR engine to the session's {@link CallFlow} port: picks the
 * flow for the route decision and builds the engine's start context.
 */
import * as engine from '../ivr/engine.js';
import { EN_FLOW_ID, SURVEY_FLOW_ID, ZH_FLOW_ID } from '../ivr/default-flow.js';
import type { ArticlePrompt, Flow, IvrState, Lang } from '../ivr/types.js';
import { articlesUsedBy } from '../ivr/validate.js';
import type { CallFlow, RouteDecision } from './ports.js';

export interface FlowBindingOptions {
  /** The flows by id (a function: published tables may replace them while calls run). */
  flows: Record<string, Flow> | (() => Record<string, Flow>);
  /** Local "YYYY-MM-DD" holidays and adjusted working days, for `when` nodes. */
  calendar?: () => { holidays: string[]; workdays: string[] };
  /** Knowledge-base articles readable at `now` (published, current, with a spoken answer), for `article` nodes. */
  articles?: (now: number) => Record<string, ArticlePrompt>;
}

/**
 * Calls routed away from the 12345 flow still go through the engine, as a
 * two-node flow built from the decision: the announcements, then the transfer
 * (sub-center, sub-platform) or a polite end (a cancelled number that releases).
 */
function decisionFlow(decision: Exclude<RouteDecision, { action: 'hotline' }>): Flow {
  let out: Flow['nodes'][string];
  if (decision.action === 'release') out = { type: 'hangup' };
  else if (decision.targetSpec.kind === 'queue') out = { type: 'queue', skill: decision.targetSpec.group };
  else out = { type: 'transfer', target: decision.targetSpec.dialString };
  const nodes: Flow['nodes'] = { out };
  if (decision.action !== 'release' && decision.targetSpec.kind === 'queue') {
    // A sub-center whose seats sit inside 12345 (Zaozhuang's 12366: "话务座席并入12345统一管理，设专门座席"):
    // the caller is answered by 12345 and waits in its queue, so they hear the welcome and, before any
    // agent, the recording notice — as every 12345 caller does — not silence until the first queue
    // announcement. The recording's metadata then says announced: true.
    nodes.greet = {
      type: 'play',
      prompts: ['welcome', ...(decision.record ? ['recording-notice'] : []), 'legacy-transferring'],
      next: 'out',
    };
    return { id: `route-${decision.routeId}`, start: 'greet', nodes, fallback: { skill: 'general' } };
  }
  return { id: `route-${decision.routeId}`, start: 'out', nodes, fallback: { skill: 'general' } };
}

export function createCallFlow(o: FlowBindingOptions): CallFlow {
  return {
    start({ decision, language, source, now }) {
      const lang: Lang = language === 'en' ? 'en' : 'zh';
      const cal = o.calendar?.() ?? { holidays: [], workdays: [] };
      const flows = { ...(typeof o.flows === 'function' ? o.flows() : o.flows) };
      let flow: Flow;
      if (decision.action === 'hotline') {
        // The table names the Chinese flow; a caller whose language is English gets its mirror.
        const id = lang === 'en' && (decision.flowId === ZH_FLOW_ID || !decision.flowId) ? EN_FLOW_ID : decision.flowId || ZH_FLOW_ID;
        flow = flows[id] ?? flows[ZH_FLOW_ID]!;
      } else {
        flow = decisionFlow(decision);
        flows[flow.id] = flow;
      }
      // Only the articles the flows name travel in the call's state, taken once at call start.
      const used = o.articles ? articlesUsedBy(Object.values(flows)) : new Set<string>();
      const readable = used.size > 0 ? o.articles!(now) : {};
      const articles = Object.fromEntries([...used].flatMap((id) => (readable[id] ? [[id, readable[id]] as const] : [])));
      return engine.start(flow, {
        lang,
        ...(used.size > 0 ? { articles } : {}),
        announce: decision.announce,
        ...(decision.action === 'hotline' && decision.line ? { skill: decision.skill } : {}),
        priority: decision.action === 'hotline' ? decision.priority : 0,
        source,
        flows,
        surveyFlowId: SURVEY_FLOW_ID,
        holidays: cal.holidays,
        workdays: cal.workdays,
        now,
      });
    },
    next(state, input, now) {
      return engine.next(state as IvrState, input, now);
    },
  };
}
