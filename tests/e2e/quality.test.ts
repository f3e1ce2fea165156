/**
 * Issue 10 in a real headless Chromium: a call through the PBX under test is
 * answered by an agent and recorded (the file Asterisk writes is put in the
 * recordings directory, as the simulated PBX writes none); a supervisor runs
 * the day's sampling on /quality; an inspector logs in (and lands on
 * /quality), opens the sampled call, presses play — the audio element loads
 * and plays the file streamed by the audited recording route — scores it with
 * one invalid value first (the error is shown beside that field), fixes it
 * and submits; the supervisor then sees the agent's score on /supervisor.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import '../support/log-capture.js';
import { recordingName } from '../../src/recording/model.js';
import { addAgent, pressAtWelcome, sessionByCaller, useHarness } from '../support/harness.js';
import { loginAs } from '../support/route-audit.js';
import { eventually } from '../support/wait.js';
import {
  createUser, expectAttr, expectContains, expectCount, expectText, expectVisible, login, openBrowser, PASSWORD, screenshot, startWebApp,
} from './support.js';

const h = useHarness();
let recDir: string | undefined;
afterAll(() => {
  if (recDir) rmSync(recDir, { recursive: true, force: true });
});

/** What Asterisk writes for format `wav`: RIFF, PCM 16-bit, 8 kHz, mono (here a two-tone signal). */
function asteriskWav(seconds: number): Buffer {
  const rate = 8000;
  const n = rate * seconds;
  const b = Buffer.alloc(44 + n * 2);
  b.write('RIFF', 0);
  b.writeUInt32LE(36 + n * 2, 4);
  b.write('WAVEfmt ', 8);
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(1, 20); // PCM
  b.writeUInt16LE(1, 22); // mono
  b.writeUInt32LE(rate, 24);
  b.writeUInt32LE(rate * 2, 28);
  b.writeUInt16LE(2, 32);
  b.writeUInt16LE(16, 34);
  b.write('data', 36);
  b.writeUInt32LE(n * 2, 40);
  for (let i = 0; i < n; i++) {
    const x = 0.3 * Math.sin((2 * Math.PI * 425 * i) / rate) + 0.2 * Math.sin((2 * Math.PI * 660 * i) / rate);
    b.writeInt16LE(Math.round(x * 32767 * ((i / rate) % 1 < 0.6 ? 1 : 0.1)), 44 + i * 2);
  }
  return b;
}

/** The Shanghai calendar day (YYYY-MM-DD) of `ms`: what the page's date inputs hold. */
const shanghaiDay = (ms: number) => new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(ms));

describe('quality inspection page (Chromium)', () => {
  it('GIVEN a recorded call sampled by the supervisor WHEN an inspector plays it and scores it (one invalid value first) THEN the play is audited and the agent\'s score appears on the supervisor page', async () => {
    const t0 = Date.now();
    const marks: Record<string, number> = {};
    const mark = (k: string) => { marks[k] = Date.now() - t0; };
    recDir = mkdtempSync(join(tmpdir(), 'hotline-e2e-rec-'));
    const { app, base } = await startWebApp(h, { RECORDINGS_DIR: recDir });
    await addAgent(app, '1001');
    await createUser(app, 'chen', ['agent'], { agentId: '1001', displayName: '陈静' });
    await createUser(app, 'zhou', ['supervisor'], { displayName: '周班长' });
    await createUser(app, 'sun', ['inspector'], { displayName: '孙质检' });

    // ---- a citizen calls 12345, presses 0 and talks with agent 1001; the call bridge is recorded
    const caller = '13855556666';
    const call = await h.side.call('12345', caller);
    await call.answered();
    const s = await sessionByCaller(app, caller);
    await pressAtWelcome(s, call, '0');
    const name = recordingName(s.callId, 1);
    await eventually(async () => expect((await app.recordings.get(name))?.state).toBe('recording'));
    // Asterisk writes the file while it records (the simulated PBX writes none).
    const audio = asteriskWav(4);
    writeFileSync(join(recDir, `${name}.wav`), audio);
    // The agent's ticket form, through the console's API; the summary carries the caller's number.
    const agentSession = await loginAs(app.http, 'chen', PASSWORD);
    const form = await app.http.inject({
      method: 'POST', url: `/api/agent/calls/${s.callId}/ticket`, headers: { authorization: `Bearer ${agentSession.token}` },
      payload: { category: 'help', requesterKind: 'citizen', summary: `小区路灯损坏，夜间出行不便，请回电 ${caller}`, unitSuggestion: '市城市管理局' },
    });
    expect(form.statusCode, form.body).toBe(200);
    await call.hangup();
    await eventually(async () => expect(await app.recordings.get(name)).toMatchObject({ state: 'done', agentId: '1001', size: audio.length }));
    const ticketNo = await eventually(async () => {
      const no = await app.tickets.byCall(s.callId);
      expect(no).toBeTruthy();
      return no!;
    }, 15_000);
    // The ticket worker noted the call for sampling (agent, seat group, call time).
    const noted = await eventually(async () => {
      const c = (await app.quality.notedCalls(0, Date.now() + 60_000)).find((x) => x.callId === s.callId);
      expect(c).toMatchObject({ agentId: '1001', group: 'general', ticketNo });
      return c!;
    }, 15_000);
    const day = shanghaiDay(noted.at);
    mark('call recorded and ticketed');

    // ---- the supervisor goes from the wallboard to /quality and samples the call's day
    const sup = await openBrowser();
    const sp = sup.page;
    await login(sup, base, 'zhou', '/supervisor');
    await expectVisible(sp.locator('#quality-card'));
    await expectText(sp.locator('#qa-agents tbody'), '该时段暂无质检评分');
    await Promise.all([sp.waitForURL(`${base}/quality`), sp.click('#qa-link')]);
    await expectVisible(sp.locator('#sampling-card'));
    await sp.fill('#s-day', day);
    await sp.click('#s-run');
    await expectText(sp.locator('#sampling-msg'), `${day}：抽取 1 通，新增 1 通`);
    await expectCount(sp.locator(`#samples tbody tr[data-call="${s.callId}"]`), 1);
    await screenshot(sp, 'quality-supervisor-sampling');
    expect((await app.audit.page({ action: 'quality-sampled' })).entries).toEqual([expect.objectContaining({ actor: 'zhou' })]);
    // Running the same day again picks the same calls and adds none.
    await sp.click('#s-run');
    await expectText(sp.locator('#sampling-msg'), `${day}：抽取 1 通，新增 0 通`);
    mark('sampled');

    // ---- the inspector logs in and lands on /quality; the sampled call is waiting
    const insp = await openBrowser();
    const p = insp.page;
    await login(insp, base, 'sun', '/quality');
    await expectVisible(p.locator('#sampling-card'), false); // sampling is the supervisors'
    const row = p.locator(`#samples tbody tr[data-call="${s.callId}"]`);
    await expectContains(row.locator('td.status'), '待评');
    await expectContains(row.locator('td.reasons'), '随机');
    await expectText(row.locator('td').nth(3), ticketNo);

    // Opens it: the call (caller masked), the agent's ticket, the segments; nothing is played (or audited) yet.
    await row.click();
    await expectAttr(row, 'aria-selected', 'true');
    await expectText(p.locator('#call-info dd[data-k="qa.caller"]'), '138****6666');
    await expectText(p.locator('#call-info dd[data-k="qa.ticket"]'), ticketNo);
    await expectText(p.locator('#call-info dd[data-k="qa.category"]'), '求助');
    await expectText(p.locator('#call-info dd[data-k="qa.summary"]'), '小区路灯损坏，夜间出行不便，请回电 138****6666');
    const seg = p.locator(`#segments tr[data-rec="${name}"]`);
    await expectContains(seg, '第 1 段');
    await expectContains(seg, '1001');
    await expectCount(p.locator('#items input'), 4);
    expect(await p.getAttribute('#player', 'src')).toBeNull();
    expect((await app.audit.page({ action: 'recording-played' })).entries).toEqual([]);

    // Presses play: the page streams the recording through the audited route and the element plays it.
    const audioResponse = p.waitForResponse((r) => new URL(r.url()).pathname === `/api/recordings/${name}/audio` && r.request().method() === 'GET');
    await seg.locator('button.play').click();
    const res = await audioResponse;
    expect([200, 206]).toContain(res.status());
    expect(res.headers()['content-type']).toBe('audio/wav');
    expect(res.headers()['accept-ranges']).toBe('bytes');
    const played = await eventually(async () => {
      const st = await p.evaluate(() => {
        const a = document.querySelector<HTMLAudioElement>('#player')!;
        return { readyState: a.readyState, currentTime: a.currentTime, duration: a.duration, paused: a.paused, error: a.error?.code ?? null };
      });
      expect(st.error).toBeNull();
      expect(st.readyState).toBeGreaterThanOrEqual(3); // HAVE_FUTURE_DATA: decoded, playing
      expect(st.currentTime).toBeGreaterThan(0.3);
      return st;
    }, 10_000, 100);
    expect(played.duration).toBeCloseTo(4, 1); // the whole file, as written
    await expectText(p.locator('#player-status'), '正在播放第 1 段');
    await expectText(seg.locator('button.play'), '暂停');
    await screenshot(p, 'quality-inspector-playing');
    // The play is in the audit log: who, which call, which segment and bytes.
    const plays = (await app.audit.page({ action: 'recording-played' })).entries;
    expect(plays.length).toBeGreaterThanOrEqual(1);
    for (const e of plays) expect(e).toMatchObject({ actor: 'sun', target: `call:${s.callId}`, detail: expect.stringMatching(new RegExp(`^seg1 ticket ${ticketNo} bytes \\d+-\\d+/${audio.length}$`)) });
    // Pause.
    await seg.locator('button.play').click();
    await expectText(p.locator('#player-status'), '第 1 段已暂停');
    mark('played');

    // ---- scores it: a greeting of 9 (out of 5) is refused, naming that field beside its input
    await p.fill('#q-greeting', '9');
    await p.fill('#q-accuracy', '9');
    await p.fill('#q-attitude', '8');
    await p.fill('#q-ticket-quality', '7');
    await p.fill('#q-comment', '开头规范用语不完整，答复准确，工单要素齐全');
    await expectText(p.locator('#total'), '–');
    await p.click('#q-submit');
    await expectContains(p.locator('#score-msg'), 'scores.greeting');
    await expectAttr(p.locator('#q-greeting'), 'aria-invalid', 'true');
    await expectContains(p.locator('#items label[data-item="greeting"] + .field-msg'), '须为 0-5');
    await expectCount(p.locator('#score-form [aria-invalid="true"]'), 1);
    await screenshot(p, 'quality-field-error');
    expect(await app.quality.inspection(s.callId)).toBeUndefined();

    // Fixed: 4/5, 9/10, 8/10, 7/10 on weights 15/35/25/25 → 12 + 31.5 + 20 + 17.5 = 81.
    await p.fill('#q-greeting', '4');
    await expectText(p.locator('#total'), '81');
    await p.click('#q-submit');
    await expectText(p.locator('#score-msg'), '评分已提交：座席 1001 总分 81');
    await expectCount(p.locator('#score-form [aria-invalid]'), 0);
    await expectCount(p.locator('#score-form .field-msg'), 0);
    await expectText(row.locator('td.status'), '已评 81');
    await expectContains(p.locator('#prev'), 'sun 已于');
    expect(await app.quality.inspection(s.callId)).toMatchObject({
      agentId: '1001', group: 'general', total: 81, inspector: 'sun', formId: 'standard',
      scores: { greeting: 4, accuracy: 9, attitude: 8, 'ticket-quality': 7 }, comment: '开头规范用语不完整，答复准确，工单要素齐全',
    });
    expect((await app.audit.page({ action: 'quality-scored' })).entries).toEqual([expect.objectContaining({ actor: 'sun', target: `call:${s.callId}`, detail: 'agent 1001 total 81' })]);
    await screenshot(p, 'quality-scored');

    // English on demand.
    await p.click('#lang');
    await expectText(p.locator('#q-submit'), 'Submit score');
    await expectContains(p.locator('#items label[data-item="greeting"]'), 'greeting and closing');
    await expectText(row.locator('td.status'), 'Scored 81');
    await expectText(p.locator('#score-msg'), 'Score submitted: agent 1001, total 81');
    await screenshot(p, 'quality-english');
    mark('scored');

    // ---- the supervisor's wallboard shows the agent's score, per agent and seat group
    await sp.goto(`${base}/supervisor`);
    const agentRow = sp.locator('#qa-agents tr[data-agent="1001"]');
    await expectContains(agentRow, '1001 座席1001');
    await expectText(agentRow.locator('td').nth(1), '1');
    await expectText(agentRow.locator('td.avg'), '81');
    await expectText(agentRow.locator('td[data-item="greeting"]'), '80%');
    await expectText(agentRow.locator('td[data-item="accuracy"]'), '90%');
    await expectText(sp.locator('#qa-groups tr[data-group="general"] td.avg'), '81');
    await expectText(sp.locator('#qa-kpi-avg .v'), '81');
    await expectText(sp.locator('#qa-kpi-pending .v'), '0');
    // Item columns in the form's order, as a share of each item's maximum.
    expect((await sp.locator('#qa-agents thead th').allInnerTexts()).slice(5)).toEqual(['规范用语', '答复准确', '服务态度', '工单质量']);
    await screenshot(sp, 'supervisor-quality');
    mark('on the wallboard');

    // The full number reached neither browser.
    for (const b of [sup, insp]) {
      expect(b.received.length).toBeGreaterThan(5);
      expect(b.received.filter((x) => x.includes(caller))).toEqual([]);
      expect(await b.page.content()).not.toContain(caller);
      expect(b.errors).toEqual([]);
    }
    console.log(`quality e2e timings (ms since start): ${JSON.stringify(marks)}`);
  }, 90_000);
});
