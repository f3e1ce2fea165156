/**
 * Recordings over HTTP: list by call or ticket, playback and download
 * streamed with range requests, legal hold, and the gaps supervisors watch.
 *
 * @remarks
 * Who may play is decided by the injected `canPlay(user, meta)` (default
 * {@link defaultCanPlay}: supervisors, quality inspectors, and the agent of the
 * segment). Every play or download request is written to the audit log before
 * a byte leaves: no audit, no audio.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { isRecordingName, type RecordingMeta } from '../../recording/model.js';
import { contentRange, parseRange } from '../../recording/range.js';
import type { RecordingAudit, RecordingService } from '../../recording/service.js';
import { AppError, bodyOf, errors, str } from '../errors.js';
import * as S from '../schemas.js';

/** The part of `request.user` this plugin reads. */
export interface PlaybackUser {
  username: string;
  roles: readonly string[];
  agentId?: string;
}

export interface RecordingRoutesOptions {
  service: RecordingService;
  audit: RecordingAudit;
  canPlay?: (user: PlaybackUser, meta: RecordingMeta) => boolean;
}

/** Supervisors and inspectors play any recording; an agent only the segments they took. */
export function defaultCanPlay(user: PlaybackUser, meta: RecordingMeta): boolean {
  if (user.roles.includes('supervisor') || user.roles.includes('inspector')) return true;
  return user.roles.includes('agent') && Boolean(user.agentId) && meta.agentId === user.agentId;
}

const MIME: Record<string, string> = { wav: 'audio/wav', gsm: 'audio/gsm', ulaw: 'audio/basic', alaw: 'audio/basic', g722: 'audio/G722', sln: 'audio/L16' };
const CALL_ID = /^[A-Za-z0-9._-]{1,120}$/;
const TICKET_NO = /^\d{8,30}$/;

const NAME_PARAMS = S.params({ name: S.string('录音名称（通话编号与段号） / recording name (call id and segment)') });

const schemas = {
  list: S.route('recordings', '按通话或工单列出录音（仅本人可播放的） / recordings of a call or a ticket (those the caller may play)', {
    querystring: S.query({
      callId: S.string('通话编号 / call id', 120),
      ticketNo: S.string('工单号（数字）；无 callId 时必填 / ticket number (digits); required without callId', 30),
    }),
  }),
  gaps: S.route('recordings', '录音缺失（未能开始或中断的录音）及计数 / recording gaps (failed or interrupted recordings) and their count', {
    querystring: S.query({ limit: S.string('最多条数 1-1000，默认 100 / at most this many, 1-1000 (default 100)') }),
  }),
  one: S.route('recordings', '一段录音的信息（不含服务器路径） / one recording segment (no server paths)', { params: NAME_PARAMS }),
  // The Range header is read by the route (recording/range.ts): one bytes range → 206, another unit or several ranges → 200
  // with the whole file, a malformed or unsatisfiable bytes range → 416. Declared as a plain string so that stays so.
  audio: S.route('recordings', '播放或下载录音（支持 Range，每次请求留痕） / play or download a recording (Range requests; every request audited)', {
    params: NAME_PARAMS,
    querystring: S.query({ download: S.string('1 或 true：作为附件下载（审计为下载） / 1 or true: as an attachment (audited as a download)') }),
    headers: S.object(undefined, {
      range: S.string('单个字节范围，如 bytes=0- / one byte range, e.g. bytes=0- (416 when unsatisfiable or malformed)'),
    }),
  }),
  hold: S.route('recordings', '设置法定保全（不随保留期删除，留痕） / set a legal hold (kept past retention; audited)', {
    params: NAME_PARAMS,
    body: S.body({ reason: S.string('保全原因，至少 4 个字 / reason, at least 4 characters', 200) }, ['reason']),
  }),
  release: S.route('recordings', '解除法定保全（留痕） / clear the legal hold (audited)', { params: NAME_PARAMS }),
};

/** What a listing shows: no server paths. */
function present(m: RecordingMeta) {
  const { filePath: _path, bridgeId: _bridge, ...rest } = m;
  return rest;
}

export async function recordingRoutes(app: FastifyInstance, o: RecordingRoutesOptions): Promise<void> {
  const canPlay = o.canPlay ?? defaultCanPlay;
  const userOf = (req: FastifyRequest) => req.user as unknown as PlaybackUser;

  async function playable(req: FastifyRequest): Promise<RecordingMeta> {
    const { name } = req.params as { name: string };
    if (!isRecordingName(name)) throw errors.invalid('name', '不是录音名称 / not a recording name');
    const m = await o.service.get(name);
    if (!m) throw errors.notFound(`录音 ${name}`);
    if (!canPlay(userOf(req), m)) throw errors.forbidden();
    return m;
  }

  app.get('/api/recordings', { config: { access: { permission: 'recordings:play' } }, schema: schemas.list }, async (req, reply) => {
    const q = (req.query ?? {}) as Record<string, unknown>;
    const callId = str(q, 'callId', { max: 120, pattern: CALL_ID, what: 'a call id' });
    const ticketNo = str(q, 'ticketNo', { max: 30, pattern: TICKET_NO, what: 'a ticket number (digits)' });
    if (!callId && !ticketNo) throw errors.invalid('callId', '须提供通话 callId 或工单号 ticketNo / callId or ticketNo is required');
    const list = callId ? await o.service.byCall(callId) : await o.service.byTicket(ticketNo!);
    const user = userOf(req);
    void reply.header('cache-control', 'no-store');
    return { recordings: list.filter((m) => canPlay(user, m)).map(present) };
  });

  app.get('/api/recordings/gaps', { config: { access: { permission: 'monitor:read' } }, schema: schemas.gaps }, async (req) => {
    const q = (req.query ?? {}) as Record<string, unknown>;
    const limit = q.limit === undefined ? 100 : Number(q.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw errors.invalid('limit', '1-1000');
    const [count, gaps] = await Promise.all([o.service.gapCount(), o.service.gaps(limit)]);
    return { count, gaps };
  });

  app.get('/api/recordings/:name', { config: { access: { permission: 'recordings:play' } }, schema: schemas.one }, async (req) => ({ recording: present(await playable(req)) }));

  app.get('/api/recordings/:name/audio', { config: { access: { permission: 'recordings:play' } }, schema: schemas.audio }, async (req, reply) => {
    const m = await playable(req);
    if (m.state !== 'done') throw new AppError('recording-not-ready', 409, `录音尚未完成（${m.state}） / the recording is ${m.state}`);
    const file = o.service.fileOf(m);
    let size: number;
    try {
      const st = await stat(file);
      if (!st.isFile()) throw new Error('not a file');
      size = st.size;
    } catch {
      throw new AppError('recording-file-missing', 404, '录音文件不存在 / the recording file is missing');
    }
    const download = (req.query as Record<string, unknown> | undefined)?.download;
    const isDownload = download === '1' || download === 'true';
    const range = parseRange(req.headers.range, size);
    void reply.header('accept-ranges', 'bytes').header('cache-control', 'no-store');
    if (range.kind === 'unsatisfiable') {
      return reply.code(416).header('content-range', `bytes */${size}`).send({
        error: { code: 'range-not-satisfiable', message: `请求的范围无效 / range not satisfiable (size ${size})`, field: 'range' },
      });
    }
    const start = range.kind === 'partial' ? range.start : 0;
    const end = range.kind === 'partial' ? range.end : size - 1;
    if (req.method !== 'HEAD') {
      // Written before the audio leaves; a failing audit log stops playback.
      try {
        await o.audit.record({
          actor: userOf(req).username,
          action: isDownload ? 'recording-downloaded' : 'recording-played',
          target: `call:${m.callId}`,
          // The target names the call; Asterisk ids look like numbers to the audit scrubber, so the detail names the segment.
          detail: `seg${m.segment}${m.ticketNo ? ` ticket ${m.ticketNo}` : ''} bytes ${start}-${end}/${size}`,
          ip: req.ip,
        });
      } catch {
        throw errors.unavailable('审计日志 / audit log');
      }
    }
    void reply
      .type(MIME[m.format] ?? 'application/octet-stream')
      .header('content-length', String(size === 0 ? 0 : end - start + 1))
      .header('content-disposition', `${isDownload ? 'attachment' : 'inline'}; filename="${m.name}.${m.format}"`);
    if (range.kind === 'partial') void reply.code(206).header('content-range', contentRange(range, size));
    if (req.method === 'HEAD' || size === 0) return reply.send();
    return reply.send(createReadStream(file, { start, end }));
  });

  app.put('/api/recordings/:name/legal-hold', { config: { access: { roles: ['supervisor'] } }, schema: schemas.hold }, async (req) => {
    const { name } = req.params as { name: string };
    if (!isRecordingName(name)) throw errors.invalid('name', '不是录音名称 / not a recording name');
    const reason = str(bodyOf(req), 'reason', { required: true, max: 200 })!.trim();
    if (Array.from(reason).length < 4) throw errors.invalid('reason', '请说明原因（至少 4 个字） / give a reason of at least 4 characters');
    const r = await o.service.setLegalHold(name, req.user.username, reason);
    if (r === 'missing') throw errors.notFound(`录音 ${name}`);
    if (r === 'deleting') throw errors.conflict('recording-deleting', '录音正在删除 / the recording is being deleted');
    const m = (await o.service.get(name))!;
    await o.audit.record({ actor: req.user.username, action: 'recording-legal-hold-set', target: `call:${m.callId}`, detail: `seg${m.segment}: ${reason}`, ip: req.ip });
    return { recording: present(m) };
  });

  app.delete('/api/recordings/:name/legal-hold', { config: { access: { roles: ['supervisor'] } }, schema: schemas.release }, async (req) => {
    const { name } = req.params as { name: string };
    if (!isRecordingName(name)) throw errors.invalid('name', '不是录音名称 / not a recording name');
    const r = await o.service.clearLegalHold(name);
    if (r === 'missing') throw errors.notFound(`录音 ${name}`);
    const m = (await o.service.get(name))!;
    await o.audit.record({ actor: req.user.username, action: 'recording-legal-hold-cleared', target: `call:${m.callId}`, detail: `seg${m.segment}`, ip: req.ip });
    return { recording: present(m) };
  });
}
