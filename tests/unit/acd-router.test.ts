import { describe, expect, it } from 'vitest';
import {
  defaultAcdConfig,
  dialStringFor,
  priorityFor,
  PRIORITY,
  validateAcdConfig,
  validateAgent,
  validateGroup,
  validateSeatFile,
  type QueueRule,
} from '../../src/acd/model.js';
import { expectedWaitSec, positionOf, route, type RouterAgent, type RouterSnapshot, type WaitingCall } from '../../src/acd/router.js';
import { readFileSync, readdirSync } from 'node:fs';

const T0 = 1_700_000_000_000;
const sec = (s: number): number => T0 + s * 1000;

const RULE_12333: QueueRule = {
  minLevel: 2,
  fallbackSkills: ['general'],
  fallbackAfterSec: 30,
  overflowAfterSec: 60,
  overflowQueueLength: 3,
  overflowSkills: ['general'],
};

function agent(id: string, idleSinceSec: number, skills: Record<string, number>, extra: Partial<RouterAgent> = {}): RouterAgent {
  return { id, available: true, idleSince: sec(idleSinceSec), skills, peak: false, ...extra };
}

function call(callId: string, joinedSec: number, skill = 'general', extra: Partial<WaitingCall> = {}): WaitingCall {
  return { callId, skill, priority: PRIORITY.normal, joinedAt: sec(joinedSec), ...extra };
}

function snap(calls: WaitingCall[], agents: RouterAgent[], queueLength?: Record<string, number>): RouterSnapshot {
  const ql: Record<string, number> = {};
  for (const c of calls) ql[c.skill] = (ql[c.skill] ?? 0) + 1;
  return {
    calls,
    agents,
    queueLength: queueLength ?? ql,
    config: {
      rules: { general: { minLevel: 1, fallbackSkills: [], fallbackAfterSec: 0, overflowSkills: ['general'], overflowAfterSec: 120 }, '12333': RULE_12333 },
      defaultRule: { minLevel: 1, fallbackSkills: ['general'], fallbackAfterSec: 60, overflowSkills: ['general'] },
      missExcludeSec: 60,
      languageSkills: { en: 'english' },
    },
  };
}

describe('router: choice of agent', () => {
  it('GIVEN three general agents WHEN one call waits THEN the longest-idle agent gets it', () => {
    const d = route(snap([call('c1', 0)], [agent('a1', -10, { general: 1 }), agent('a2', -50, { general: 1 }), agent('a3', -20, { general: 3 })]), sec(1));
    expect(d).toEqual([{ callId: 'c1', agentId: 'a2', tier: 'primary', agentIdleSince: sec(-50) }]);
  });

  it('skips agents that are not available', () => {
    const d = route(snap([call('c1', 0)], [agent('a1', -100, { general: 1 }, { available: false }), agent('a2', -5, { general: 1 })]), sec(1));
    expect(d.map((x) => x.agentId)).toEqual(['a2']);
  });

  it('GIVEN an expert call needing level 2 THEN a longer-idle level-1 agent is passed over', () => {
    const d = route(snap([call('c1', 0, '12333')], [agent('a1', -100, { '12333': 1, general: 2 }), agent('a2', -5, { '12333': 2 })]), sec(1));
    expect(d[0]).toMatchObject({ agentId: 'a2', tier: 'primary' });
  });

  it('a per-call minimum level overrides the rule', () => {
    const calls = [call('c1', 0, '12333', { minLevel: 4 })];
    const agents = [agent('a1', -100, { '12333': 3 }), agent('a2', -5, { '12333': 5 })];
    expect(route(snap(calls, agents), sec(1))[0]?.agentId).toBe('a2');
  });

  it('nobody with the skill → no decision (before the fallback time)', () => {
    expect(route(snap([call('c1', 0, '12333')], [agent('a1', -100, { general: 5 })]), sec(29))).toEqual([]);
  });

  it('each agent and each call appear at most once', () => {
    const calls = [call('c1', 0), call('c2', 1), call('c3', 2)];
    const agents = [agent('a1', -3, { general: 1 }), agent('a2', -2, { general: 1 })];
    const d = route(snap(calls, agents), sec(5));
    expect(d.map((x) => [x.callId, x.agentId])).toEqual([
      ['c1', 'a1'],
      ['c2', 'a2'],
    ]);
  });

  it('an agent who just missed this call is skipped while another can take it, but used if alone', () => {
    const c = call('c1', 0, 'general', { missedBy: { a1: sec(10) } });
    expect(route(snap([c], [agent('a1', -100, { general: 1 }), agent('a2', 0, { general: 1 })]), sec(11))[0]?.agentId).toBe('a2');
    expect(route(snap([c], [agent('a1', -100, { general: 1 })]), sec(11))[0]?.agentId).toBe('a1');
    // after missExcludeSec the agent is a normal candidate again
    expect(route(snap([c], [agent('a1', -100, { general: 1 }), agent('a2', 0, { general: 1 })]), sec(71))[0]?.agentId).toBe('a1');
  });

  it('an English-speaking caller needs the english skill until the fallback time', () => {
    const c = call('c1', 0, '12333', { language: 'en' });
    const agents = [agent('a1', -100, { '12333': 3 }), agent('a2', -5, { '12333': 3, english: 2 })];
    expect(route(snap([c], agents), sec(1))[0]?.agentId).toBe('a2');
    expect(route(snap([c], [agents[0]!]), sec(1))).toEqual([]);
    expect(route(snap([c], [agents[0]!]), sec(30))[0]?.agentId).toBe('a1');
  });
});

describe('router: order of calls', () => {
  it('GIVEN a linkage hand-in joined later THEN it is served before earlier normal calls', () => {
    const calls = [call('c1', 0), call('c2', 5, 'general', { priority: priorityFor({ source: '110' }) }), call('c3', 1, 'general', { priority: PRIORITY.enterprise })];
    const d = route(snap(calls, [agent('a1', -10, { general: 1 })]), sec(6));
    expect(d.map((x) => x.callId)).toEqual(['c2']);
    const d2 = route(snap(calls, [agent('a1', -10, { general: 1 }), agent('a2', -5, { general: 1 }), agent('a3', -1, { general: 1 })]), sec(6));
    expect(d2.map((x) => `${x.callId}:${x.agentId}`)).toEqual(['c2:a1', 'c3:a2', 'c1:a3']);
  });

  it('priorities: linkage 110/119/120/122 > enterprise > normal', () => {
    for (const s of ['110', '119', '120', '122']) expect(priorityFor({ source: s })).toBe(PRIORITY.linkage);
    expect(priorityFor({ skill: 'enterprise' })).toBe(PRIORITY.enterprise);
    expect(priorityFor({ source: '12333', skill: 'general' })).toBe(PRIORITY.normal);
    expect(PRIORITY.linkage).toBeGreaterThan(PRIORITY.enterprise);
  });

  it('equal priority: earliest join time first', () => {
    const d = route(snap([call('late', 9), call('early', 2), call('mid', 5)], [agent('a1', 0, { general: 1 })]), sec(10));
    expect(d[0]?.callId).toBe('early');
  });

  it('GIVEN a callback that keeps its original join time THEN a later caller is not served first', () => {
    const cb = call('cb', 0, 'general', { callback: true });
    const later = call('later', 20);
    const d = route(snap([later, cb], [agent('a1', 0, { general: 1 })]), sec(30));
    expect(d.map((x) => x.callId)).toEqual(['cb']);
  });

  it('GIVEN a callback in its retry delay THEN it is not offered yet and does not block others', () => {
    const cb = call('cb', 0, 'general', { callback: true, notBefore: sec(40) });
    const later = call('later', 20);
    expect(route(snap([later, cb], [agent('a1', 0, { general: 1 })]), sec(30)).map((x) => x.callId)).toEqual(['later']);
    expect(route(snap([later, cb], [agent('a1', 0, { general: 1 })]), sec(40)).map((x) => x.callId)).toEqual(['cb']);
  });

  it('a high-priority call without a suitable agent does not block a lower one', () => {
    const calls = [call('exp', 0, '12333', { priority: PRIORITY.linkage }), call('gen', 1)];
    expect(route(snap(calls, [agent('a1', 0, { general: 1 })]), sec(2)).map((x) => x.callId)).toEqual(['gen']);
  });
});

describe('router: fallback and overflow at the configured times', () => {
  const general = agent('g1', -100, { general: 3 });
  const peak = agent('p1', -200, { general: 1 }, { peak: true });

  it('GIVEN an expert call and only a general agent THEN fallback happens exactly at fallbackAfterSec (30 s)', () => {
    const c = call('c1', 0, '12333');
    expect(route(snap([c], [general]), sec(29.999))).toEqual([]);
    expect(route(snap([c], [general]), sec(30))[0]).toMatchObject({ agentId: 'g1', tier: 'fallback' });
  });

  it('after the fallback time a free primary agent is still preferred to a longer-idle fallback one', () => {
    const d = route(snap([call('c1', 0, '12333')], [general, agent('e1', -1, { '12333': 2 })]), sec(45));
    expect(d[0]).toMatchObject({ agentId: 'e1', tier: 'primary' });
  });

  it('peak seats take no regular calls, and take the call at overflowAfterSec (60 s)', () => {
    const c = call('c1', 0, '12333');
    expect(route(snap([c], [peak]), sec(59))).toEqual([]);
    expect(route(snap([c], [peak]), sec(60))[0]).toMatchObject({ agentId: 'p1', tier: 'overflow' });
    expect(route(snap([call('g', 0)], [peak]), sec(119))).toEqual([]);
    expect(route(snap([call('g', 0)], [peak]), sec(120))[0]?.agentId).toBe('p1');
  });

  it('overflow by queue length: more than 3 waiting for 12333 → peak seats take calls at once', () => {
    const calls = [0, 1, 2].map((i) => call(`c${i}`, i, '12333'));
    expect(route(snap(calls, [peak]), sec(5))).toEqual([]);
    const four = [...calls, call('c3', 3, '12333')];
    const d = route(snap(four, [peak]), sec(5));
    expect(d).toEqual([{ callId: 'c0', agentId: 'p1', tier: 'overflow', agentIdleSince: peak.idleSince }]);
  });

  it('regular tiers come before overflow even when the peak seat is longer idle', () => {
    const d = route(snap([call('c1', 0, '12333')], [peak, general]), sec(61));
    expect(d[0]).toMatchObject({ agentId: 'g1', tier: 'fallback' });
  });

  it('a peak seat without the needed or an overflow skill never takes the call', () => {
    const odd = agent('p2', -300, { english: 1 }, { peak: true });
    expect(route(snap([call('c1', 0, '12333')], [odd]), sec(600))).toEqual([]);
  });
});

describe('position and expected wait', () => {
  it('counts calls of the same skill ahead in service order', () => {
    const calls = [call('a', 0), call('b', 1), call('x', 0, '12333'), call('vip', 5, 'general', { priority: 10 })];
    expect(positionOf('b', calls)).toBe(3);
    expect(positionOf('vip', calls)).toBe(1);
    expect(positionOf('x', calls)).toBe(1);
    expect(positionOf('nope', calls)).toBeUndefined();
  });

  it('expected wait grows with position and shrinks with staffed agents', () => {
    expect(expectedWaitSec(1, 2, 180)).toBe(90);
    expect(expectedWaitSec(4, 2, 180)).toBe(360);
    expect(expectedWaitSec(1, 0, 180)).toBe(180);
  });
});

describe('model validation', () => {
  it('names the offending fields', () => {
    const r = validateAgent({ id: 'bad id!', name: '', extension: '8001', skills: { general: 7, 'Bad Skill': 1 }, groups: ['nope'] }, new Set(['general']));
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.errors.map((e) => e.field).sort()).toEqual(['groups[0]', 'id', 'name', 'skills.Bad Skill', 'skills.general']);
    }
  });

  it('accepts a correct agent and fills the dial template', () => {
    const r = validateAgent({ id: '1001', name: '张三', extension: '8001', skills: { general: 3, '12333': 4 }, groups: ['g'] }, new Set(['g']));
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(dialStringFor(r.value, 'PJSIP/agent{ext}')).toBe('PJSIP/agent8001');
      expect(dialStringFor(r.value, 'Local/{ext}@hotline-test-agents')).toBe('Local/8001@hotline-test-agents');
      expect(dialStringFor({ ...r.value, dialString: 'PJSIP/remote-12333' }, 'PJSIP/agent{ext}')).toBe('PJSIP/remote-12333');
    }
  });

  it('groups: expert groups need their line number', () => {
    const r = validateGroup({ id: 'exp-12333', name: '人社专家', kind: 'expert' });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors).toEqual([{ field: 'lineNumber', message: 'is required for expert groups' }]);
    expect(validateGroup({ id: 'x', name: 'x', kind: 'vip' }).ok).toBe(false);
  });

  it('the default configuration validates; a broken one names its fields', () => {
    expect(validateAcdConfig(defaultAcdConfig()).ok).toBe(true);
    const r = validateAcdConfig({ ...defaultAcdConfig(), dialTemplate: 'PJSIP/agent8001', autoPauseAfterMisses: 0, rules: { '12333': { ...RULE_12333, minLevel: 9 } } });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.map((e) => e.field)).toEqual(['dialTemplate', 'autoPauseAfterMisses', 'rules.12333.minLevel']);
  });

  it('every seat file in data/seats validates', () => {
    const dir = new URL('../../data/seats/', import.meta.url);
    const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) {
      const r = validateSeatFile(JSON.parse(readFileSync(new URL(f, dir), 'utf8')));
      expect(r.ok ? [] : r.errors, f).toEqual([]);
    }
  });
});
