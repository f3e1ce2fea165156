import { describe, expect, it } from 'vitest';
import { loadCatalogue, missingFlowPrompts } from '../../src/ivr/catalogue.js';
import { buildDefaultFlows } from '../../src/ivr/default-flow.js';
import { assertValidFlows, FlowValidationError, validateCatalogue, validateFlow, validateFlows } from '../../src/ivr/validate.js';
import type { Flow } from '../../src/ivr/types.js';

const catalogue = loadCatalogue();

/** A small valid flow: menu → queue/hangup. */
function base(): Flow {
  return {
    id: 'f',
    start: 'main',
    nodes: {
      main: {
        type: 'menu',
        prompt: 'menu-intro',
        options: { '1': 'q', '2': 'bye' },
        timeoutMs: 5000,
        retries: 2,
        invalidPrompt: 'invalid',
        timeoutPrompt: 'timeout',
        onExhausted: 'q',
      },
      q: { type: 'queue', skill: 'general' },
      bye: { type: 'hangup', prompt: 'thanks' },
    },
  };
}

describe('flow validation', () => {
  it('GIVEN the default flows and catalogue WHEN validated THEN there are no errors and no missing prompts', () => {
    const flows = buildDefaultFlows();
    expect(validateFlows(flows, { catalogue })).toEqual([]);
    expect(missingFlowPrompts(flows, catalogue, ['transition-generic', 'cancelled-generic'])).toEqual([]);
    expect(() => assertValidFlows(flows, { catalogue })).not.toThrow();
  });

  it('GIVEN a valid small flow WHEN validated THEN there are no errors', () => {
    expect(validateFlow(base(), { catalogue })).toEqual([]);
  });

  it('GIVEN a menu option naming a missing node WHEN validated THEN the error names the field path', () => {
    const f = base();
    (f.nodes.main as { options: Record<string, string> }).options['3'] = 'foo';
    expect(validateFlow(f, { catalogue })).toContain('nodes.main.options.3: unknown node "foo"');
  });

  it('GIVEN a node nothing leads to WHEN validated THEN it is reported unreachable', () => {
    const f = base();
    f.nodes.orphan = { type: 'queue', skill: 'x' };
    expect(validateFlow(f, { catalogue })).toEqual(['nodes.orphan: unreachable from start "main"']);
  });

  it('GIVEN a prompt id not in the catalogue WHEN validated THEN it is reported with its path', () => {
    const f = base();
    f.nodes.main = { ...(f.nodes.main as object), prompt: ['menu-intro', 'no-such-prompt'] } as Flow['nodes'][string];
    expect(validateFlow(f, { catalogue })).toEqual(['nodes.main.prompt.1: unknown prompt "no-such-prompt"']);
    expect(validateFlow(f)).toEqual([]); // without a catalogue prompts are not checked
  });

  it('GIVEN a menu without timeout, timeout prompt or onExhausted WHEN validated THEN each is reported', () => {
    const f = base();
    const m = f.nodes.main as unknown as Record<string, unknown>;
    delete m.timeoutMs;
    delete m.timeoutPrompt;
    delete m.onExhausted;
    const errors = validateFlow(f, { catalogue });
    expect(errors).toContain('nodes.main.timeoutMs: a menu needs a timeout in ms (1–120000)');
    expect(errors).toContain('nodes.main.timeoutPrompt: a menu needs a timeout prompt');
    expect(errors).toContain('nodes.main.onExhausted: a menu needs somewhere to go after repeated timeouts (an agent)');
  });

  it('GIVEN a menu whose exhausted path plays a prompt and hangs up WHEN validated THEN it is rejected', () => {
    const f = base();
    f.nodes.sorry = { type: 'play', prompts: ['invalid'], next: 'bye' };
    (f.nodes.main as { onExhausted: string }).onExhausted = 'sorry';
    expect(validateFlow(f, { catalogue })).toEqual([
      'nodes.main.onExhausted: callers who fail a menu go to an agent, never a hangup (reaches hangup "bye")',
    ]);
  });

  it('GIVEN a cycle of plays and menus that never reaches queue, transfer or hangup WHEN validated THEN every node in it is reported', () => {
    const f: Flow = {
      id: 'loop',
      start: 'a',
      nodes: {
        a: { type: 'play', prompts: ['welcome'], next: 'm' },
        m: {
          type: 'menu',
          prompt: 'menu-intro',
          options: { '1': 'a' },
          timeoutMs: 5000,
          retries: 1,
          invalidPrompt: 'invalid',
          timeoutPrompt: 'timeout',
          onExhausted: 'a',
        },
      },
    };
    expect(validateFlow(f, { catalogue })).toEqual([
      'nodes.a: cannot reach a queue, transfer or hangup (cycle with no exit)',
      'nodes.m: cannot reach a queue, transfer or hangup (cycle with no exit)',
    ]);
  });

  it('GIVEN a cycle with an exit (out-of-scope notice back to the menu) WHEN validated THEN it is accepted', () => {
    const f = base();
    f.nodes.notice = { type: 'play', prompts: ['out-of-scope'], next: 'main' };
    (f.nodes.main as { options: Record<string, string> }).options['8'] = 'notice';
    expect(validateFlow(f, { catalogue })).toEqual([]);
  });

  it('GIVEN a ticketStatus whose slot no collect fills, an unknown node type and a bad subflow WHEN validated THEN all are reported', () => {
    const f = base();
    const opts = (f.nodes.main as { options: Record<string, string> }).options;
    opts['3'] = 't';
    opts['4'] = 'x';
    opts['5'] = 's';
    f.nodes.t = { type: 'ticketStatus', slot: 'ticketNo', next: 'q', retryNode: 'main', retries: 1, onExhausted: 'q' };
    f.nodes.x = { type: 'dance' } as unknown as Flow['nodes'][string];
    f.nodes.s = { type: 'subflow', flowId: 'nope' };
    const errors = validateFlow(f, { catalogue, knownFlowIds: ['f'] });
    expect(errors).toContain('nodes.t.slot: no collect node fills slot "ticketNo"');
    expect(errors).toContain('nodes.x.type: unknown node type "dance"');
    expect(errors).toContain('nodes.s.flowId: unknown flow "nope"');
  });

  it('GIVEN malformed collect and when nodes WHEN validated THEN the fields are named', () => {
    const f = base();
    (f.nodes.main as { options: Record<string, string> }).options['3'] = 'w';
    f.nodes.w = { type: 'when', cases: [{ if: [{ kind: 'time', from: '25:00', to: '18:00' }], next: 'c' }], else: 'q' };
    f.nodes.c = {
      type: 'collect',
      prompt: 'ticket-enter-number',
      min: 6,
      max: 4,
      timeoutMs: 0,
      retries: 1,
      slot: 'n',
      next: 'q',
      onExhausted: 'q',
    };
    const errors = validateFlow(f, { catalogue });
    expect(errors).toContain('nodes.w.cases.0.if.0.from: must be "HH:MM"');
    expect(errors).toContain('nodes.c.min: must not exceed max');
    expect(errors).toContain('nodes.c.timeoutMs: a collect needs a timeout in ms (1–120000)');
  });

  it('GIVEN garbage instead of a flow WHEN validated THEN errors are returned, nothing is thrown', () => {
    for (const junk of [null, 42, 'x', [], { nodes: [] }, { id: 'a', start: 'b', nodes: { b: null } }]) {
      expect(validateFlow(junk).length).toBeGreaterThan(0);
    }
    expect(validateFlow({ id: 'a', start: 'zz', nodes: { b: { type: 'queue' } } })).toContain('start: unknown node "zz"');
  });

  it('GIVEN an invalid flow set WHEN asserted THEN a FlowValidationError lists errors prefixed with the flow id', () => {
    const f = base();
    (f.nodes.main as { options: Record<string, string> }).options['3'] = 'foo';
    try {
      assertValidFlows({ f }, { catalogue });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(FlowValidationError);
      expect((err as FlowValidationError).errors).toEqual(['f: nodes.main.options.3: unknown node "foo"']);
    }
  });
});

describe('prompt catalogue', () => {
  it('GIVEN the shipped catalogue WHEN checked THEN every entry has zh and en text and a file-safe id', () => {
    expect(validateCatalogue(catalogue)).toEqual([]);
    // The main menu is composed of menu-* parts so that each city can add its specialist lines.
    for (const id of ['welcome', 'menu-intro', 'recording-notice', 'system-busy', 'transition-generic', 'cancelled-generic', 'survey', 'out-of-scope']) {
      expect(catalogue[id], id).toBeDefined();
    }
    expect(catalogue['recording-notice']?.zh).toBe('本次通话将被录音。');
    expect(catalogue['out-of-scope']?.zh).toMatch(/诉讼.*仲裁.*信访/);
  });

  it('GIVEN a catalogue with a missing translation and a bad id WHEN checked THEN both are named', () => {
    expect(validateCatalogue({ ok: { zh: '好', en: 'ok' }, 'Bad Id': { zh: 'x', en: 'y' }, half: { zh: '半' } })).toEqual([
      'Bad Id: prompt ids are lower-case letters, digits and "-"',
      'half.en: missing text',
    ]);
  });
});

describe('flow files', () => {
  it('GIVEN a JSON flow file overriding the default zh flow with a broken ref WHEN loaded THEN nothing is activated and the error names flow and field', async () => {
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const { loadFlowFiles } = await import('../../src/ivr/flow-files.js');
    const dir = mkdtempSync(join(tmpdir(), 'flows-'));
    try {
      const zh = structuredClone(buildDefaultFlows()['hotline-zh']) as Flow;
      writeFileSync(join(dir, 'hotline-zh.json'), JSON.stringify(zh));
      const ok = loadFlowFiles(dir, { base: buildDefaultFlows(), catalogue });
      expect(Object.keys(ok).sort()).toEqual(['hotline-en', 'hotline-zh', 'survey']);
      (zh.nodes.main as { options: Record<string, string> }).options['4'] = 'to-nowhere';
      writeFileSync(join(dir, 'hotline-zh.json'), JSON.stringify(zh));
      expect(() => loadFlowFiles(dir, { base: buildDefaultFlows(), catalogue })).toThrow(
        'hotline-zh: nodes.main.options.4: unknown node "to-nowhere"',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
