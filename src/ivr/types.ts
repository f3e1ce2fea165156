/**
 * Types shared by the IVR engine and the call session that executes it.
 *
 * @remarks
 * The contract: the session feeds {@link IvrInput}s into the pure engine
 * (`start` / `next` in engine.ts) and carries out the returned
 * {@link IvrCommand}s on ARI, in order. Everything here is JSON-serialisable
 * so that a session can persist and restore {@link IvrState}.
 *
 * Tokens: every `play`, `start-timer` and `lookup-ticket` command carries a
 * token; the session echoes it in `playback-done`, `timeout` and
 * `ticket-status` inputs. The engine ignores inputs whose token is not the one
 * it currently waits for, so stale events (a playback stopped by barge-in, a
 * timer that fired after a digit) are harmless.
 */

/** Sound language of a prompt: Asterisk's `lang` of the playback ("zh" → sounds/zh/…). */
export type Lang = 'zh' | 'en';
export const LANGS: readonly Lang[] = ['zh', 'en'];

export type PromptId = string;

// ---------------------------------------------------------------------------
// Flow definition (data)
// ---------------------------------------------------------------------------

/** Play one or more prompts, then continue. */
export interface PlayNode {
  type: 'play';
  prompts: PromptId[];
  next: string;
  /**
   * When true a DTMF digit stops the playback; if the next node (after
   * `when`/`language` hops) is a menu or collect, the digit is handed to it
   * (type-ahead). Default false.
   */
  bargeIn?: boolean;
}

/** One prompt id or several played back to back. */
export type PromptRef = PromptId | PromptId[];

export interface MenuNode {
  type: 'menu';
  prompt: PromptRef;
  /** DTMF digit ('0'–'9', '*', '#') → node id. */
  options: Record<string, string>;
  /** Silence after the prompt before it counts as a timeout. */
  timeoutMs: number;
  /** Re-prompts allowed after a timeout or an invalid digit (the two share one count). */
  retries: number;
  invalidPrompt: PromptId;
  timeoutPrompt: PromptId;
  /** Where a caller goes when retries are used up. Must lead to an agent, never to hangup. */
  onExhausted: string;
  /** DTMF during the prompt stops it and counts as the choice. Default true. */
  bargeIn?: boolean;
}

export interface CollectNode {
  type: 'collect';
  prompt: PromptRef;
  min: number;
  max: number;
  /** Ends the entry early. Only '#' is supported. Default '#'. */
  terminator?: '#';
  /** Inter-digit timeout (and the first-digit timeout after the prompt). */
  timeoutMs: number;
  retries: number;
  /** Slot the digits are stored into (`state.slots[slot]`). */
  slot: string;
  next: string;
  /** Played before the prompt again when the entry was too short or had '*'. Default: "invalid". */
  invalidPrompt?: PromptId;
  /** Played before the prompt again after silence. Default: "timeout". */
  timeoutPrompt?: PromptId;
  /** Where a caller goes when retries are used up (an agent). */
  onExhausted: string;
}

export interface QueueNode {
  type: 'queue';
  /** ACD skill; default "general". */
  skill?: string;
  /**
   * Use the start context's `skill` (a legacy line's skill) when there is one,
   * falling back to `skill`.
   */
  skillFromContext?: boolean;
  /** Added to the start context's priority (higher = sooner). Default 0. */
  priority?: number;
}

export interface TransferNode {
  type: 'transfer';
  /** A route id or a dial target (e.g. "PJSIP/12333@trunk"). */
  target: string;
}

/** Continue at another flow's start (a jump: there is no return). */
export interface SubflowNode {
  type: 'subflow';
  flowId: string;
}

export interface HangupNode {
  type: 'hangup';
  prompt?: PromptId;
}

/** A condition of a `when` case; a case matches when all its conditions hold. */
export type Condition =
  /** Local wall-clock time in [from, to) ("HH:MM"); from > to wraps midnight. */
  | { kind: 'time'; from: string; to: string }
  /** ISO weekdays, 1 = Monday … 7 = Sunday. */
  | { kind: 'weekday'; days: number[] }
  /** Today is (or is not) in the start context's holiday list. */
  | { kind: 'holiday'; is: boolean }
  /** Today is a working day: weekday and not a holiday, or an adjusted working day (调休). */
  | { kind: 'workday'; is: boolean }
  /** The start context has (or lacks) a value for a field. */
  | { kind: 'context'; field: 'skill' | 'source' | 'area'; present?: boolean; equals?: string }
  | { kind: 'slot'; name: string; present?: boolean; equals?: string }
  | { kind: 'lang'; is: Lang };

export interface WhenNode {
  type: 'when';
  cases: { if: Condition[]; next: string }[];
  else: string;
}

export interface LanguageNode {
  type: 'language';
  lang: Lang;
  next: string;
}

export interface TicketStatusNode {
  type: 'ticketStatus';
  /** Slot holding the ticket number (filled by a collect node). */
  slot: string;
  /** After the status has been read out. */
  next: string;
  /** After "not found": back here (usually the collect node) while tries remain. */
  retryNode: string;
  /** "Not found" answers allowed before going to onExhausted. */
  retries: number;
  /** Tries used up, or the lookup failed/timed out: an agent. */
  onExhausted: string;
  /** Default 8000. */
  lookupTimeoutMs?: number;
}

export interface SurveyNode {
  type: 'survey';
  prompt: PromptRef;
  timeoutMs: number;
  /** Re-asks after a timeout or an invalid digit (default flows: 1). */
  retries: number;
  invalidPrompt: PromptId;
  timeoutPrompt: PromptId;
  /** After a rating, or with no rating once retries are used up. */
  next: string;
}

/**
 * Read a knowledge-base article's short answer (FAQ menus), then continue. The
 * flow names the article; which version is spoken is the one published when
 * the call starts (`StartContext.articles`). An article that is not published,
 * past its valid-until, or has no spoken answer is skipped to `onUnavailable`.
 */
export interface ArticleNode {
  type: 'article';
  /** Knowledge-base article id, e.g. "kb-12333-pension-001". */
  articleId: string;
  next: string;
  /** Where the caller goes when the article cannot be read now (an agent, or back to the menu). */
  onUnavailable: string;
  /** A digit stops the answer and goes on to `next` (type-ahead into a menu there). Default true. */
  bargeIn?: boolean;
}

/** What the engine needs of a published article at call start: the prompt that speaks its answer. */
export interface ArticlePrompt {
  promptId: PromptId;
  version: number;
}

export type FlowNode =
  | ArticleNode
  | PlayNode
  | MenuNode
  | CollectNode
  | QueueNode
  | TransferNode
  | SubflowNode
  | HangupNode
  | WhenNode
  | LanguageNode
  | TicketStatusNode
  | SurveyNode;

export type FlowNodeType = FlowNode['type'];

export interface Flow {
  id: string;
  /** Free text; versioned together with routing tables. */
  version?: string;
  description?: string;
  start: string;
  /** Language the flow is spoken in when entered (a `language` node changes it). */
  lang?: Lang;
  /** Minutes east of UTC for `when` conditions. Default 480 (China Standard Time). */
  utcOffsetMinutes?: number;
  /**
   * Node entries per call before the engine gives up and queues the caller
   * (loop guard against a caller cycling through menus forever). Default 100.
   */
  maxNodeVisits?: number;
  /** Where the engine sends a caller on a loop guard or an internal error. Default: queue "general". */
  fallback?: { skill: string; priority?: number };
  nodes: Record<string, FlowNode>;
}

/** One catalogue entry: the text per language, optionally an espeak-ng voice override per language. */
export interface PromptEntry {
  zh: string;
  en: string;
  /** e.g. `{ "zh": "en" }`: the zh file of "For English press 9" is spoken by the English voice. */
  voice?: Partial<Record<Lang, string>>;
}

/** Prompt catalogue: prompt id → text per language (prompts/catalogue.json). */
export type PromptCatalogue = Record<PromptId, PromptEntry>;

// ---------------------------------------------------------------------------
// Engine I/O
// ---------------------------------------------------------------------------

/**
 * One piece of audio. The session maps it to an ARI media URI with
 * `mediaUri()` (engine.ts): prompt → `sound:hotline/<id>`, digits →
 * `digits:<value>`, number → `number:<value>`.
 */
export type Media =
  | { kind: 'prompt'; id: PromptId }
  | { kind: 'digits'; value: string }
  | { kind: 'number'; value: number }
  /**
   * Free text we have no recording for (a handling unit's name without a
   * prompt). Added variant: a session with TTS may speak it, others skip it
   * (`mediaUri()` returns undefined).
   */
  | { kind: 'text'; value: string };

export type TicketStatusCode = 'accepted' | 'dispatched' | 'processing' | 'replied' | 'closed' | 'returned' | 'extended';

export type TicketLookupResult =
  | { found: false }
  | {
      found: true;
      /** One of {@link TicketStatusCode}; anything else is read as "being processed". */
      status: string;
      unitName: string;
      /** Added: prompt id with the unit's recorded name; when absent the name goes out as `text` media. */
      unitPromptId?: string;
      /** "YYYY-MM-DD" (local date); absent or malformed → not read out. */
      dueDate?: string;
    };

export type IvrInput =
  | { type: 'start' }
  | { type: 'dtmf'; digit: string }
  | { type: 'playback-done'; token: string; failed?: boolean }
  | { type: 'timeout'; token: string }
  | { type: 'ticket-status'; token: string; result: TicketLookupResult }
  | { type: 'agent-hung-up' };

export type SurveyRating = 1 | 2 | 3 | 4;

export type IvrCommand =
  | { type: 'play'; token: string; media: Media[]; lang: Lang; bargeIn: boolean }
  | { type: 'stop-playback'; token: string }
  | { type: 'start-timer'; token: string; ms: number }
  | { type: 'cancel-timer'; token: string }
  /** The IVR is done; the caller goes to the ACD. */
  | { type: 'queue'; skill: string; priority: number }
  | { type: 'transfer'; target: string }
  | { type: 'hangup'; cause: 'normal' }
  | { type: 'lookup-ticket'; token: string; ticketNo: string }
  | { type: 'survey-rating'; rating: SurveyRating }
  | { type: 'set-language'; lang: Lang }
  /** Appended to the call record's path. `node` is "<flowId>.<nodeId>". */
  | { type: 'path'; node: string; detail: string };

export type IvrCommandType = IvrCommand['type'];

/** What the session knows when the IVR starts. */
export interface StartContext {
  /** Initial language; default the flow's `lang`, else "zh". */
  lang?: Lang;
  /** Prompt ids the route asks to play before the flow (transition/cancellation notices). */
  announce?: PromptId[];
  /** The legacy line's ACD skill (e.g. "12333"); flows route such callers straight to that queue. */
  skill?: string;
  /** Base queue priority from the route (linkage high, abusive callers low). Default 0. */
  priority?: number;
  source?: string;
  area?: string;
  /** Other flows a `subflow` node or the survey may enter, by id. */
  flows?: Record<string, Flow>;
  /** Flow id run when the agent hangs up first (`agent-hung-up` after `queue`). */
  surveyFlowId?: string;
  /** Holidays as local "YYYY-MM-DD" (for `when`). */
  holidays?: string[];
  /** Adjusted working days on weekends (调休), local "YYYY-MM-DD". */
  workdays?: string[];
  /**
   * Articles readable now (published and current), by id, with the prompt of their short answer.
   * Taken once at call start, so a call hears one version whatever is published meanwhile.
   */
  articles?: Record<string, ArticlePrompt>;
  /** ms since epoch (the session clock; the engine never reads Date.now()). */
  now: number;
}

/** Where the engine waits. */
export type Phase =
  | { kind: 'idle' }
  /** Playing prompts; when done go to `then` (a node id) or hang up. */
  | { kind: 'playing'; token: string; then: { goto: string } | { hangup: true }; bargeIn: boolean }
  | { kind: 'menu'; playToken?: string; timerToken?: string }
  | { kind: 'collect'; playToken?: string; timerToken?: string; digits: string }
  | { kind: 'lookup'; token: string; timerToken: string }
  | { kind: 'survey'; playToken?: string; timerToken?: string }
  | { kind: 'done'; outcome: 'queue' | 'transfer' | 'hangup' };

/** Engine state: plain data, JSON-serialisable. Treat as opaque outside ivr/. */
export interface IvrState {
  v: 1;
  flows: Record<string, Flow>;
  flowId: string;
  nodeId: string;
  phase: Phase;
  lang: Lang;
  slots: Record<string, string>;
  /** Errors (timeouts, invalid entries, not-found) at the current node. */
  errors: number;
  /** "Not found" answers per ticketStatus node (kept across the retry loop). */
  notFound: Record<string, number>;
  visits: number;
  seq: number;
  ctx: Omit<StartContext, 'flows' | 'now'>;
  startedAt: number;
  /** Rating given in the survey, if any. */
  rating?: SurveyRating;
  surveyed: boolean;
}

export interface Step {
  state: IvrState;
  commands: IvrCommand[];
}
