import { describe, expect, it } from 'vitest';
import { buildDefaultFlows, defaultStartContext, ZH_FLOW_ID } from '../../src/ivr/default-flow.js';
import { IvrSim } from '../../src/ivr/sim.js';
import type { Flow, StartContext } from '../../src/ivr/types.js';

// Tuesday 2026-03-10 10:00 China Standard Time.
const NOW = Date.UTC(2026, 2, 10, 2, 0);
const flows = buildDefaultFlows();
const MAIN_MENU = [
  'menu-intro',
  'menu-consult',
  'menu-enterprise',
  'menu-ticket',
  'menu-medical-insurance',
  'menu-out-of-scope',
  'menu-agent',
  'menu-english',
];

function call(fields: Partial<Omit<StartContext, 'flows' | 'surveyFlowId'>> = {}): IvrSim {
  return new IvrSim(flows[ZH_FLOW_ID] as Flow, defaultStartContext(flows, { now: NOW, ...fields }));
}

/** A call that has heard the welcome and is in the main menu prompt. */
function atMainMenu(fields: Partial<Omit<StartContext, 'flows' | 'surveyFlowId'>> = {}): IvrSim {
  const sim = call(fields);
  sim.finishPlayback(); // welcome + recording notice
  expect(sim.activePlay?.media).toEqual(MAIN_MENU);
  return sim;
}

describe('default 12345 flow: welcome and main menu', () => {
  it('GIVEN a call on 12345 WHEN the caller listens THEN welcome, recording notice and the main menu play in zh, then a timeout timer runs', () => {
    const sim = call();
    expect(sim.heard).toEqual(['welcome', 'recording-notice']);
    sim.finishPlayback();
    sim.finishPlayback();
    expect(sim.heard).toEqual(['welcome', 'recording-notice', ...MAIN_MENU]);
    expect(sim.of('play').every((p) => p.lang === 'zh')).toBe(true);
    expect(sim.of('start-timer').at(-1)?.ms).toBe(6000);
    expect(sim.outcome).toBeUndefined();
  });

  it.each([
    ['1', 'general', 'to-general'],
    ['2', 'enterprise', 'to-enterprise'],
    ['4', 'medical-insurance', 'to-medical-insurance'],
    ['0', 'general', 'to-agent'],
  ])('GIVEN the main menu playing WHEN the caller presses %s THEN the prompt stops and the caller is queued for %s', (digit, skill, node) => {
    const sim = atMainMenu();
    const menuToken = sim.activePlay?.token;
    const cmds = sim.press(digit);
    expect(cmds[0]).toEqual({ type: 'stop-playback', token: menuToken });
    expect(sim.activePlay?.media).toEqual(['transferring-to-agent']);
    sim.finishPlayback();
    expect(sim.outcome).toEqual({ type: 'queue', skill, priority: 0 });
    expect(sim.path).toContain(`hotline-zh.main: dtmf ${digit} → ${node}`);
  });

  it('GIVEN the welcome playing WHEN the caller presses 2 (type-ahead) THEN the menu choice is taken without hearing the menu', () => {
    const sim = call();
    sim.press('2');
    expect(sim.heard).not.toContain('menu-intro');
    sim.finishPlayback();
    expect(sim.outcome).toEqual({ type: 'queue', skill: 'enterprise', priority: 0 });
  });

  it('GIVEN a route priority WHEN the caller is queued THEN the priority is carried to the queue command', () => {
    const sim = atMainMenu({ priority: -3 });
    sim.press('1');
    sim.finishPlayback();
    expect(sim.outcome).toEqual({ type: 'queue', skill: 'general', priority: -3 });
  });

  it('GIVEN the main menu WHEN the caller presses 8 THEN the out-of-scope notice plays and the main menu comes back', () => {
    const sim = atMainMenu();
    sim.press('8');
    expect(sim.activePlay?.media).toEqual(['out-of-scope']);
    sim.finishPlayback();
    expect(sim.activePlay?.media).toEqual(MAIN_MENU);
    sim.press('1');
    sim.finishPlayback();
    expect(sim.outcome).toEqual({ type: 'queue', skill: 'general', priority: 0 });
  });
});

describe('default 12345 flow: menu errors go to an agent', () => {
  it('GIVEN the main menu WHEN the caller stays silent THEN it re-prompts twice with the timeout prompt and then queues for an agent', () => {
    const sim = atMainMenu();
    sim.finishPlayback();
    sim.fireTimer();
    expect(sim.activePlay?.media).toEqual(['timeout', ...MAIN_MENU]);
    sim.finishPlayback();
    sim.fireTimer();
    expect(sim.activePlay?.media).toEqual(['timeout', ...MAIN_MENU]);
    sim.finishPlayback();
    sim.fireTimer();
    expect(sim.activePlay?.media).toEqual(['transferring-to-agent']);
    sim.finishPlayback();
    expect(sim.outcome).toEqual({ type: 'queue', skill: 'general', priority: 0 });
    expect(sim.of('hangup')).toEqual([]);
    expect(sim.path).toContain('hotline-zh.main: retries exhausted → to-agent');
  });

  it('GIVEN the main menu WHEN the caller presses invalid digits THEN each gets the invalid prompt, and the third goes to an agent', () => {
    const sim = atMainMenu();
    sim.press('7');
    expect(sim.activePlay?.media).toEqual(['invalid', ...MAIN_MENU]);
    sim.press('#');
    expect(sim.activePlay?.media).toEqual(['invalid', ...MAIN_MENU]);
    sim.press('5');
    expect(sim.activePlay?.media).toEqual(['transferring-to-agent']);
    sim.finishPlayback();
    expect(sim.outcome?.type).toBe('queue');
    expect(sim.of('hangup')).toEqual([]);
  });

  it('GIVEN one timeout and one invalid digit WHEN the caller then presses a valid digit THEN the choice is taken (errors did not exceed retries)', () => {
    const sim = atMainMenu();
    sim.finishPlayback();
    sim.fireTimer();
    sim.press('6');
    sim.press('2');
    sim.finishPlayback();
    expect(sim.outcome).toEqual({ type: 'queue', skill: 'enterprise', priority: 0 });
  });

  it('GIVEN the menu prompt fails to play WHEN the failure is reported THEN the timeout timer still starts', () => {
    const sim = atMainMenu();
    const cmds = sim.finishPlayback(true);
    expect(cmds.map((c) => c.type)).toEqual(['path', 'start-timer']);
  });
});

describe('default 12345 flow: English', () => {
  it('GIVEN the main menu WHEN the caller presses 9 THEN the language switches to en and the English welcome and menu play', () => {
    const sim = atMainMenu();
    sim.press('9');
    expect(sim.of('set-language')).toEqual([{ type: 'set-language', lang: 'en' }]);
    const last = sim.of('play').at(-1);
    expect(last?.lang).toBe('en');
    expect(last?.media.map((m) => (m.kind === 'prompt' ? m.id : m.kind))).toEqual(['welcome', 'recording-notice']);
    sim.finishPlayback();
    expect(sim.activePlay?.media).toEqual([...MAIN_MENU.slice(0, -1), 'menu-chinese']);
    sim.press('2');
    sim.finishPlayback();
    expect(sim.outcome).toEqual({ type: 'queue', skill: 'enterprise', priority: 0 });
    expect(sim.state.lang).toBe('en');
  });

  it('GIVEN the English menu WHEN the caller presses 9 THEN it goes back to Chinese', () => {
    const sim = atMainMenu();
    sim.press('9');
    sim.finishPlayback();
    sim.press('9');
    expect(sim.of('set-language').map((c) => c.lang)).toEqual(['en', 'zh']);
    expect(sim.of('play').at(-1)?.lang).toBe('zh');
  });
});

describe('default 12345 flow: route announcements and legacy lines', () => {
  it('GIVEN a legacy line with a transition notice and skill 12333 WHEN the call starts THEN the notice plays first, DTMF cannot skip it, and the caller is queued for 12333 without the menu', () => {
    const sim = call({ announce: ['transition-generic'], skill: '12333', priority: 5 });
    expect(sim.of('play')[0]).toMatchObject({ bargeIn: false, media: [{ kind: 'prompt', id: 'transition-generic' }] });
    expect(sim.press('1')).toEqual([]);
    sim.finishPlayback();
    expect(sim.activePlay?.media).toEqual(['recording-notice', 'legacy-transferring']);
    sim.finishPlayback();
    expect(sim.outcome).toEqual({ type: 'queue', skill: '12333', priority: 5 });
    expect(sim.heard).not.toContain('menu-intro');
  });

  it('GIVEN a cancellation notice and no skill WHEN the call starts THEN the notice plays, then the welcome and the main menu', () => {
    const sim = call({ announce: ['cancelled-generic'] });
    sim.listen(2);
    expect(sim.heard).toEqual(['cancelled-generic', 'welcome', 'recording-notice', ...MAIN_MENU]);
  });
});

describe('default 12345 flow: ticket progress self-service', () => {
  it('GIVEN a known ticket WHEN the caller keys it with # THEN status, handling unit and due date are read out in Chinese order', () => {
    const sim = atMainMenu();
    sim.press('3');
    expect(sim.activePlay?.media).toEqual(['ticket-enter-number']);
    sim.press('20260001#');
    expect(sim.lookup?.ticketNo).toBe('20260001');
    expect(sim.of('start-timer').at(-1)?.ms).toBe(8000);
    sim.answerLookup({ found: true, status: 'dispatched', unitName: '市住房和城乡建设局', dueDate: '2026-11-22' });
    expect(sim.activePlay?.media).toEqual([
      'ticket-intro',
      'digits:20260001',
      'ticket-status-is',
      'ticket-status-dispatched',
      'ticket-unit-is',
      'text:市住房和城乡建设局',
      'ticket-due-is',
      'number:2026',
      'date-year',
      'number:11',
      'date-month',
      'number:22',
      'date-day',
    ]);
    sim.finishPlayback();
    expect(sim.activePlay?.media).toEqual(['ticket-after-menu']);
    sim.press('0');
    sim.finishPlayback();
    expect(sim.outcome).toEqual({ type: 'queue', skill: 'general', priority: 0 });
    expect(sim.path).toContain('hotline-zh.ticket-collect: collected ticketNo=20260001');
  });

  it('GIVEN an unknown ticket number WHEN looked up THEN the caller hears "not found" and enters again; a second miss goes to an agent', () => {
    const sim = atMainMenu();
    sim.press('3');
    sim.press('1111#');
    sim.answerLookup({ found: false });
    expect(sim.activePlay?.media).toEqual(['ticket-not-found-retry']);
    sim.finishPlayback();
    expect(sim.activePlay?.media).toEqual(['ticket-enter-number']);
    sim.press('2222#');
    expect(sim.lookup?.ticketNo).toBe('2222');
    sim.answerLookup({ found: false });
    expect(sim.activePlay?.media).toEqual(['ticket-not-found']);
    sim.finishPlayback();
    expect(sim.activePlay?.media).toEqual(['transferring-to-agent']);
    sim.finishPlayback();
    expect(sim.outcome).toEqual({ type: 'queue', skill: 'general', priority: 0 });
  });

  it('GIVEN the ticket lookup never answers WHEN its timer fires THEN the caller hears the system is busy and goes to an agent; a late answer is ignored', () => {
    const sim = atMainMenu();
    sim.press('3');
    sim.press('123456#');
    const late = sim.lookup;
    sim.fireTimer();
    expect(sim.activePlay?.media).toEqual(['ticket-lookup-failed']);
    expect(sim.send({ type: 'ticket-status', token: late?.token ?? '', result: { found: false } })).toEqual([]);
    sim.finishPlayback();
    sim.finishPlayback();
    expect(sim.outcome?.type).toBe('queue');
  });

  it('GIVEN a ticket number that is too short WHEN # is pressed THEN invalid + the number prompt play again', () => {
    const sim = atMainMenu();
    sim.press('3');
    sim.press('12#');
    expect(sim.activePlay?.media).toEqual(['invalid', 'ticket-enter-number']);
    expect(sim.lookup).toBeUndefined();
  });

  it('GIVEN digits without # WHEN the inter-digit timer fires THEN the entry is accepted', () => {
    const sim = atMainMenu();
    sim.press('3');
    sim.press('98765');
    sim.fireTimer();
    expect(sim.lookup?.ticketNo).toBe('98765');
  });

  it('GIVEN an English caller WHEN a ticket is read out THEN the date is said as month, day, year', () => {
    const sim = atMainMenu();
    sim.press('9');
    sim.finishPlayback();
    sim.press('3');
    sim.press('4444#');
    sim.answerLookup({ found: true, status: 'closed', unitName: 'x', unitPromptId: 'unit-housing', dueDate: '2026-11-22' });
    expect(sim.activePlay?.media.slice(-5)).toEqual(['unit-housing', 'ticket-due-is', 'month-11', 'number:22', 'number:2026']);
    expect(sim.of('play').at(-1)?.lang).toBe('en');
  });
});

describe('satisfaction survey', () => {
  function queued(): IvrSim {
    const sim = atMainMenu();
    sim.press('1');
    sim.finishPlayback();
    expect(sim.outcome?.type).toBe('queue');
    return sim;
  }

  it('GIVEN a caller who talked to an agent WHEN the agent hangs up first and the caller presses 2 THEN rating 2 is emitted, thanks play and the call ends', () => {
    const sim = queued();
    sim.send({ type: 'agent-hung-up' });
    expect(sim.activePlay?.media).toEqual(['survey']);
    sim.press('2');
    expect(sim.of('survey-rating')).toEqual([{ type: 'survey-rating', rating: 2 }]);
    expect(sim.activePlay?.media).toEqual(['survey-thanks']);
    sim.finishPlayback();
    expect(sim.outcome).toEqual({ type: 'hangup', cause: 'normal' });
    expect(sim.state.rating).toBe(2);
  });

  it('GIVEN the survey WHEN the caller presses 7 then 4 THEN one retry is given and rating 4 is stored', () => {
    const sim = queued();
    sim.send({ type: 'agent-hung-up' });
    sim.press('7');
    expect(sim.activePlay?.media).toEqual(['invalid', 'survey']);
    sim.press('4');
    expect(sim.of('survey-rating').map((c) => c.rating)).toEqual([4]);
  });

  it('GIVEN the survey WHEN the caller stays silent twice THEN no rating is emitted, thanks play and the call ends', () => {
    const sim = queued();
    sim.send({ type: 'agent-hung-up' });
    sim.finishPlayback();
    sim.fireTimer();
    expect(sim.activePlay?.media).toEqual(['timeout', 'survey']);
    sim.finishPlayback();
    sim.fireTimer();
    expect(sim.activePlay?.media).toEqual(['survey-thanks']);
    sim.finishPlayback();
    expect(sim.of('survey-rating')).toEqual([]);
    expect(sim.outcome?.type).toBe('hangup');
  });

  it('GIVEN a caller still in the IVR WHEN agent-hung-up arrives THEN it is ignored; after the survey a second one is ignored too', () => {
    const sim = atMainMenu();
    expect(sim.send({ type: 'agent-hung-up' })).toEqual([]);
    sim.press('1');
    sim.finishPlayback();
    sim.send({ type: 'agent-hung-up' });
    sim.press('1');
    sim.finishPlayback();
    expect(sim.send({ type: 'agent-hung-up' })).toEqual([]);
    expect(sim.of('survey-rating')).toHaveLength(1);
  });

  it('GIVEN an English caller WHEN surveyed THEN the survey is played in English', () => {
    const sim = atMainMenu();
    sim.press('9');
    sim.finishPlayback();
    sim.press('0');
    sim.finishPlayback();
    sim.send({ type: 'agent-hung-up' });
    expect(sim.of('play').at(-1)).toMatchObject({ lang: 'en', media: [{ kind: 'prompt', id: 'survey' }] });
  });
});

describe('stale events', () => {
  it('GIVEN a menu prompt stopped by barge-in WHEN its playback-done arrives later THEN nothing happens', () => {
    const sim = atMainMenu();
    const stopped = sim.activePlay?.token ?? '';
    sim.press('3');
    expect(sim.send({ type: 'playback-done', token: stopped })).toEqual([]);
    expect(sim.activePlay?.media).toEqual(['ticket-enter-number']);
  });

  it('GIVEN the welcome stopped by type-ahead WHEN its playback-done arrives during the next prompt THEN that prompt is not cut short', () => {
    const sim = call();
    const welcome = sim.activePlay?.token ?? '';
    sim.press('2');
    expect(sim.activePlay?.media).toEqual(['transferring-to-agent']);
    expect(sim.send({ type: 'playback-done', token: welcome })).toEqual([]);
    expect(sim.outcome).toBeUndefined();
  });

  it('GIVEN a menu timer cancelled by a digit WHEN its timeout still arrives THEN nothing happens', () => {
    const sim = atMainMenu();
    sim.finishPlayback();
    const timer = sim.timers.at(-1) ?? '';
    const cmds = sim.press('7');
    expect(cmds).toContainEqual({ type: 'cancel-timer', token: timer });
    expect(sim.send({ type: 'timeout', token: timer })).toEqual([]);
    expect(sim.send({ type: 'timeout', token: 'nonsense' })).toEqual([]);
    expect(sim.send({ type: 'playback-done', token: 'p999' })).toEqual([]);
  });

  it('GIVEN the IVR has queued the caller WHEN more digits and events arrive THEN no commands are produced', () => {
    const sim = atMainMenu();
    sim.press('1');
    sim.finishPlayback();
    expect(sim.press('12345')).toEqual([]);
    expect(sim.send({ type: 'start' })).toEqual([]);
  });
});

describe('loop guard', () => {
  it('GIVEN a caller who keeps pressing 8 WHEN the node-visit limit is passed THEN the engine queues them for an agent', () => {
    const sim = atMainMenu();
    for (let i = 0; i < 200 && !sim.outcome; i++) {
      sim.press('8');
      if (sim.activePlay) sim.finishPlayback();
    }
    expect(sim.outcome).toEqual({ type: 'queue', skill: 'general', priority: 0 });
    expect(sim.path.at(-1)).toMatch(/fallback to agent: too many steps/);
  });
});
