/**
 * Quality inspection over HTTP: forms, sampling, inspectors' scores and the
 * roll-ups shown on the supervisor page (`GET /api/quality/summary`).
 */
import type { FastifyInstance } from 'fastify';
import { QualityError, type QualityService } from '../../recording/quality.js';
import type { RecordingAudit } from '../../recording/service.js';
import { AppError, bodyOf, errors, str } from '../errors.js';

export interface QualityRoutesOptions {
  quality: QualityService;
  audit: RecordingAudit;
}

function toAppError(err: unknown): unknown {
  if (!(err instanceof QualityError)) return err;
  if (err.code === 'not-found') return new AppError('not-found', 404, err.message);
  if (err.code === 'conflict') return new AppError('conflict', 409, err.message);
  const first = err.errors[0];
  return errors.invalid(first?.field ?? 'body', first ? `${first.message}` : err.message, err.errors);
}

function ms(q: Record<string, unknown>, field: string): number | undefined {
  const v = q[field];
  if (v === undefined || v === '') return undefined;
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return v;
  if (typeof v !== 'string' || !/^\d{1,15}$/.test(v)) throw errors.invalid(field, '必须是毫秒时间戳 / must be epoch milliseconds');
  return Number(v);
}

export async function qualityRoutes(app: FastifyInstance, o: QualityRoutesOptions): Promise<void> {
  const q = o.quality;

  app.get('/api/quality/forms', { config: { access: { permission: 'quality:score' } } }, async () => ({ forms: await q.forms() }));

  app.put('/api/quality/forms/:id', { config: { access: { roles: ['supervisor', 'admin'] } } }, async (req) => {
    const { id } = req.params as { id: string };
    const body = bodyOf(req);
    if (body.id !== undefined && body.id !== id) throw errors.invalid('id', '与路径不一致 / must match the path');
    try {
      const form = await q.saveForm({ ...body, id });
      await o.audit.record({ actor: req.user.username, action: 'quality-form-changed', target: `quality-form:${form.id}`, detail: form.items.map((i) => `${i.id}=${i.weight}%/${i.maxScore}`).join(' '), ip: req.ip });
      return { form };
    } catch (err) {
      throw toAppError(err);
    }
  });

  app.post('/api/quality/sampling', { config: { access: { roles: ['supervisor'] } } }, async (req) => {
    const b = bodyOf(req);
    const from = ms(b, 'from');
    const to = ms(b, 'to');
    if ((from === undefined) !== (to === undefined)) throw errors.invalid(from === undefined ? 'from' : 'to', '须同时给出 from 与 to / give both from and to');
    if (from !== undefined && to! <= from) throw errors.invalid('to', '须晚于 from / must be after from');
    const rate = b.ratePercent;
    if (rate !== undefined && (typeof rate !== 'number' || !(rate >= 0 && rate <= 100))) throw errors.invalid('ratePercent', '须为 0-100 / must be 0-100');
    const r = await q.runSampling({ ...(from !== undefined ? { from, to: to! } : {}), ...(typeof rate === 'number' ? { ratePercent: rate } : {}) });
    await o.audit.record({ actor: req.user.username, action: 'quality-sampled', detail: `${r.from}-${r.to}: ${r.samples.length} picked, ${r.added} new`, ip: req.ip });
    return r;
  });

  app.get('/api/quality/samples', { config: { access: { permission: 'quality:score' } } }, async (req) => {
    const query = (req.query ?? {}) as Record<string, unknown>;
    const from = ms(query, 'from');
    const to = ms(query, 'to');
    const agentId = str(query, 'agentId', { max: 40, pattern: /^[A-Za-z0-9_-]+$/, what: 'an agent id' });
    return {
      samples: await q.samples({ ...(from !== undefined ? { from } : {}), ...(to !== undefined ? { to } : {}), ...(agentId ? { agentId } : {}), pending: query.pending === '1' || query.pending === 'true' }),
    };
  });

  app.post('/api/quality/inspections', { config: { access: { permission: 'quality:score' } } }, async (req, reply) => {
    const b = bodyOf(req);
    const callId = str(b, 'callId', { required: true, max: 120, pattern: /^[A-Za-z0-9._-]+$/, what: 'a call id' })!;
    const formId = str(b, 'formId', { max: 40 });
    const comment = str(b, 'comment', { max: 500 });
    try {
      const inspection = await q.submit({ callId, scores: b.scores, inspector: req.user.username, ...(formId ? { formId } : {}), ...(comment ? { comment } : {}) });
      await o.audit.record({ actor: req.user.username, action: 'quality-scored', target: `call:${callId}`, detail: `agent ${inspection.agentId} total ${inspection.total}`, ip: req.ip });
      return reply.code(201).send({ inspection });
    } catch (err) {
      throw toAppError(err);
    }
  });

  app.get('/api/quality/summary', { config: { access: { roles: ['supervisor', 'admin', 'inspector'] } } }, async (req) => {
    const query = (req.query ?? {}) as Record<string, unknown>;
    const from = ms(query, 'from');
    const to = ms(query, 'to');
    return { from: from ?? null, to: to ?? null, ...(await q.summary(from, to)) };
  });
}
