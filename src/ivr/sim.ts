/**
 * An in-memory executor of engine commands, for tests and the demo: it plays
 * the part of the call session (one playback at a time, timers, ticket
 * lookups) without a PBX, and keeps what a caller would have heard.
 */
import { next, start } from './engine.js';
import type { Flow, IvrCommand, IvrInput, IvrState, Media, StartContext, TicketLookupResult } from './types.js';

function mediaLabel(m: Media): string {
  switch (m.kind) {
    case 'prompt':
      return m.id;
    case 'digits':
      return `digits:${m.value}`;
    case 'number':
      return `number:${m.value}`;
    case 'text':
      return `text:${m.value}`;
  }
}

export class IvrSim {
  state: IvrState;
  now: number;
  /** Every command, in order. */
  readonly commands: IvrCommand[] = [];
  /** Media of every play command, as labels ("welcome", "digits:123", "number:2026"), in order. */
  readonly heard: string[] = [];
  activePlay: { token: string; bargeIn: boolean; media: string[] } | undefined;
  readonly timers: string[] = [];
  lookup: { token: string; ticketNo: string } | undefined;
  /** Tokens of playbacks stopped by barge-in: ARI still reports them finished. */
  readonly stoppedPlays: string[] = [];

  constructor(flow: Flow, ctx: StartContext) {
    this.now = ctx.now;
    const step = start(flow, ctx);
    this.state = step.state;
    this.apply(step.commands);
  }

  send(input: IvrInput): IvrCommand[] {
    const step = next(this.state, input, this.now);
    this.state = step.state;
    this.apply(step.commands);
    return step.commands;
  }

  private apply(cmds: IvrCommand[]): void {
    for (const c of cmds) {
      this.commands.push(c);
      switch (c.type) {
        case 'play': {
          const media = c.media.map(mediaLabel);
          this.heard.push(...media);
          this.activePlay = { token: c.token, bargeIn: c.bargeIn, media };
          break;
        }
        case 'stop-playback':
          if (this.activePlay?.token === c.token) {
            this.stoppedPlays.push(c.token);
            this.activePlay = undefined;
          }
          break;
        case 'start-timer':
          this.timers.push(c.token);
          break;
        case 'cancel-timer': {
          const i = this.timers.indexOf(c.token);
          if (i >= 0) this.timers.splice(i, 1);
          break;
        }
        case 'lookup-ticket':
          this.lookup = { token: c.token, ticketNo: c.ticketNo };
          break;
        default:
          break;
      }
    }
  }

  /** The current playback ends (or fails). */
  finishPlayback(failed = false): IvrCommand[] {
    const p = this.activePlay;
    if (!p) throw new Error('no playback in progress');
    this.activePlay = undefined;
    return this.send({ type: 'playback-done', token: p.token, ...(failed ? { failed: true } : {}) });
  }

  /** The newest running timer fires. */
  fireTimer(): IvrCommand[] {
    const t = this.timers.pop();
    if (!t) throw new Error('no timer running');
    return this.send({ type: 'timeout', token: t });
  }

  press(digits: string): IvrCommand[] {
    const out: IvrCommand[] = [];
    for (const d of digits) out.push(...this.send({ type: 'dtmf', digit: d }));
    return out;
  }

  answerLookup(result: TicketLookupResult): IvrCommand[] {
    const l = this.lookup;
    if (!l) throw new Error('no lookup pending');
    this.lookup = undefined;
    return this.send({ type: 'ticket-status', token: l.token, result });
  }

  /** Let every playback finish (a caller who just listens) until the engine waits for something else. */
  listen(maxPlays = 20): void {
    for (let i = 0; i < maxPlays && this.activePlay; i++) this.finishPlayback();
  }

  /** The ending command, if the IVR is over. */
  get outcome(): Extract<IvrCommand, { type: 'queue' | 'transfer' | 'hangup' }> | undefined {
    for (let i = this.commands.length - 1; i >= 0; i--) {
      const c = this.commands[i] as IvrCommand;
      if (c.type === 'queue' || c.type === 'transfer' || c.type === 'hangup') return c;
    }
    return undefined;
  }

  /** The path entries ("<flow>.<node>: detail"). */
  get path(): string[] {
    return this.commands.flatMap((c) => (c.type === 'path' ? [`${c.node}: ${c.detail}`] : []));
  }

  of<T extends IvrCommand['type']>(type: T): Extract<IvrCommand, { type: T }>[] {
    return this.commands.filter((c): c is Extract<IvrCommand, { type: T }> => c.type === type);
  }
}
