/**
 * Demo calls: a person dials a number on the built-in simulated PBX, presses
 * digits and sees what the caller hears and where the call goes. Used by the
 * demo page and CLI, and by "test-dial" of draft routing tables.
 */
import { readFileSync } from 'node:fs';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { App } from '../app.js';
import type { CallPathStep } from '../calls/record.js';
import * as S from '../http/schemas.js';
import type { TestCall, TestSide } from '../../sim-pbx/test-caller.js';

type Catalogue = Record<string, { zh: string; en: string }>;

export function loadCatalogue(path = new URL('../../prompts/catalogue.json', import.meta.url)): Catalogue {
  return JSON.parse(readFileSync(path, 'utf8')) as Catalogue;
}

/** A demo user, printed at start and listed on /login in demo mode. */
export interface DemoLogin {
  username: string;
  password: string;
  roles: readonly ('admin' | 'supervisor' | 'agent' | 'inspector' | 'auditor' | 'unit')[];
  /** The page the role lands on. */
  page: string;
  agentId?: string;
}

export interface DemoCallView {
  id: string;
  dialed: string;
  state: 'ringing' | 'in-call' | 'ended';
  /** What the caller heard, in order, as text. */
  heard: { at: number; text: string; lang: 'zh' | 'en' }[];
  /** The recorded path through routing, IVR, queue and agents. */
  path: CallPathStep[];
  outcome?: string;
  /** The call's ticket, once the ticket worker made it. */
  ticket?: { no: string; state: string };
}

interface DemoCall {
  call: TestCall;
  dialed: string;
  /** The hotline's call id (the ;2 half), once the session exists. */
  callId?: string;
  ended: boolean;
  finalPath?: CallPathStep[];
  outcome?: string;
  ticket?: { no: string; state: string };
}

export class DemoCalls {
  private readonly calls = new Map<string, DemoCall>();
  private seq = 0;

  constructor(
    private readonly app: App,
    private readonly side: TestSide,
    private readonly catalogue: Catalogue,
  ) {}

  async dial(number: string, caller: string): Promise<string> {
    if (!/^[0-9*#+]{2,20}$/.test(number)) throw new DemoInputError('number', '号码只能包含数字 / the number may only contain digits');
    if (!/^\+?[0-9]{3,20}$/.test(caller)) throw new DemoInputError('caller', '主叫号码无效 / invalid caller number');
    const call = await this.side.call(number, caller);
    const id = `demo-${++this.seq}`;
    const entry: DemoCall = { call, dialed: number, ended: false };
    this.calls.set(id, entry);
    void call.ended(24 * 3600_000).then(
      () => (entry.ended = true),
      () => undefined,
    );
    return id;
  }

  async press(id: string, digits: string): Promise<void> {
    if (!/^[0-9*#]{1,32}$/.test(digits)) throw new DemoInputError('digits', '只能按 0-9、* 和 # / only 0-9, * and #');
    await this.get(id).call.press(digits);
  }

  async hangup(id: string): Promise<void> {
    await this.get(id).call.hangup();
  }

  /** The agent on the call hangs up first (the caller then hears the survey). */
  async agentHangup(id: string): Promise<void> {
    const c = this.get(id);
    const agent = c.callId ? this.app.calls.session(c.callId)?.connectedAgentId : undefined;
    if (!agent) throw new DemoInputError('id', '该通话没有接通座席 / no agent on this call');
    await this.side.agentHangsUp(agent);
  }

  /** The view with the call's ticket looked up (once the call ended). */
  async view(id: string): Promise<DemoCallView> {
    const v = this.viewNow(id);
    const c = this.get(id);
    if (c.ended && c.callId && !c.ticket) {
      const no = await this.app.tickets.byCall(c.callId);
      const st = no ? await this.app.tickets.get(no) : undefined;
      if (no) c.ticket = { no, state: st?.ticket?.state ?? st?.status ?? 'new' };
      // The session may be gone before a poll saw its last step: the ticket's record has the whole call.
      if (st) {
        c.outcome ??= st.record.outcome;
        if (st.record.path.length > (c.finalPath?.length ?? 0)) c.finalPath = st.record.path;
      }
      if (no) return this.viewNow(id, c.ticket);
    }
    return c.ticket ? { ...v, ticket: c.ticket } : v;
  }

  /** What the caller heard and the path, without the ticket (for the terminal prompt). */
  viewNow(id: string, ticket?: { no: string; state: string }): DemoCallView {
    const c = this.get(id);
    const session = this.sessionFor(c);
    if (session) {
      c.callId = session.callId;
      c.finalPath = session.record.path;
      c.outcome = session.record.outcome;
    }
    const path = c.finalPath ?? [];
    // Each prompt in the language it was played in (a caller may press 9 for English half-way).
    const callLang = session?.record.language === 'en' ? 'en' : 'zh';
    return {
      id,
      dialed: c.dialed,
      state: c.ended ? 'ended' : c.callId ? 'in-call' : 'ringing',
      heard: path
        .filter((p) => p.kind === 'prompt')
        .map((p) => {
          const lang = p.lang === 'en' || p.lang === 'zh' ? p.lang : callLang;
          return { at: p.at, text: this.say(p.detail, lang), lang };
        }),
      path,
      ...(c.outcome ? { outcome: c.outcome } : {}),
      ...(ticket ? { ticket } : {}),
    };
  }

  private sessionFor(c: DemoCall) {
    if (c.callId) return this.app.calls.session(c.callId);
    // The session is keyed by the hotline's half of the Local pair; match it by creation order.
    const taken = new Set([...this.calls.values()].map((x) => x.callId).filter(Boolean));
    return this.app.calls.active.find((s) => !taken.has(s.callId) && s.record.dialed === c.dialed);
  }

  /** Turn a prompt step ("welcome menu-intro digits:123") into the words the caller hears. */
  private say(detail: string, lang: 'zh' | 'en'): string {
    return detail
      .split(' ')
      .map((part) => {
        const m = /^(digits|number|text):(.*)$/.exec(part);
        if (m) return m[2];
        return this.catalogue[part]?.[lang] ?? `[${part}]`;
      })
      .join(' ');
  }

  private get(id: string): DemoCall {
    const c = this.calls.get(id);
    if (!c) throw new DemoInputError('id', `没有这个通话 / no such call: ${id}`);
    return c;
  }
}

export class DemoInputError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** The demo's HTTP routes: the page and a small JSON API behind it. Demo only, loopback only. */
export async function demoRoutes(http: FastifyInstance, opts: { demo: DemoCalls; page: string; logins?: readonly DemoLogin[] }): Promise<void> {
  const { demo } = opts;
  const pub = { config: { access: 'public' as const } };
  /** Runs a demo action; bad input is a 400 naming the field, a PBX failure a 502. */
  const handle =
    (fn: (req: FastifyRequest) => Promise<unknown> | unknown) =>
    async (req: FastifyRequest, reply: FastifyReply) => {
      try {
        return await fn(req);
      } catch (err) {
        if (err instanceof DemoInputError) return reply.code(400).send({ error: { code: 'invalid-input', field: err.field, message: err.message } });
        return reply.code(502).send({ error: { code: 'pbx-error', message: (err as Error).message } });
      }
    };
  const idOf = (req: FastifyRequest) => (req.params as { id: string }).id;
  // The schemas state the shapes; DemoCalls checks the numbers and digits and names the field as before.
  const ID = S.params({ id: S.string('演示通话编号 / demo call id') });
  const demoRoute = (summary: string, parts?: Parameters<typeof S.route>[2]) => ({ ...pub, schema: S.route('demo', summary, parts) });
  http.get('/demo', demoRoute('演示拨号页面 / the demo dialling page'), async (_req, reply) => reply.type('text/html; charset=utf-8').send(opts.page));
  http.post(
    '/api/demo/calls',
    demoRoute('在模拟交换机上拨号 / dial a number on the simulated PBX', {
      body: S.body(
        {
          number: S.string('被叫号码（数字、*、#） / number dialled (digits, *, #)'),
          caller: S.optional(S.string('主叫号码，默认 13800138000 / caller number (default 13800138000)')),
        },
        ['number'],
      ),
    }),
    handle(async (req) => {
      const b = (req.body ?? {}) as { number?: unknown; caller?: unknown };
      return { id: await demo.dial(String(b.number ?? ''), String(b.caller ?? '13800138000')) };
    }),
  );
  http.post(
    '/api/demo/calls/:id/digits',
    demoRoute('按键（0-9、*、#） / press keys (0-9, *, #)', { params: ID, body: S.body({ digits: S.string('按键 / keys pressed', 32) }, ['digits']) }),
    handle(async (req) => {
      await demo.press(idOf(req), String((req.body as { digits?: unknown } | undefined)?.digits ?? ''));
      return { ok: true };
    }),
  );
  http.delete(
    '/api/demo/calls/:id',
    demoRoute('来电人挂机 / the caller hangs up', { params: ID }),
    handle(async (req) => {
      await demo.hangup(idOf(req));
      return { ok: true };
    }),
  );
  http.post(
    '/api/demo/calls/:id/agent-hangup',
    demoRoute('座席先挂机（来电人随后听到满意度评价） / the agent hangs up first (the caller then hears the survey)', { params: ID }),
    handle(async (req) => {
      await demo.agentHangup(idOf(req));
      return { ok: true };
    }),
  );
  http.get(
    '/api/demo/calls/:id',
    // The page polls this every 300 ms: its request lines would flood the demo's console.
    { ...demoRoute('通话所听与路径、结果与工单 / what the caller heard, the call’s path, outcome and ticket', { params: ID }), logLevel: 'warn' },
    handle((req) => demo.view(idOf(req))),
  );
  // Only the demo registers this route: /login shows the demo's users when it answers (404 in production).
  http.get('/api/demo/logins', demoRoute('演示模式的登录账号 / the demo’s logins (demo mode only)'), async () => ({
    logins: (opts.logins ?? []).map((l) => ({ username: l.username, password: l.password, roles: l.roles, page: l.page })),
  }));
}
