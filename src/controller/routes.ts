/**
 * The answer-rate controller over HTTP: its state, the sliding windows per line and seat group, the
 * decision timeline (each entry with its inputs) and the switch. Supervisors and admins.
 */
import type { FastifyInstance } from 'fastify';
import type { AuditLog } from '../access/audit.js';
import { bodyOf, errors, staleVersion, versionOf } from '../http/errors.js';
import * as S from '../http/schemas.js';
import type { ControllerRunner } from './runner.js';

export interface ControllerRouteDeps {
  runner: ControllerRunner;
  audit: AuditLog;
}

const ROLES = { config: { access: { roles: ['supervisor', 'admin'] } } } as const;

export async function controllerRoutes(app: FastifyInstance, d: ControllerRouteDeps): Promise<void> {
  app.get(
    '/api/supervisor/controller',
    {
      ...ROLES,
      schema: S.route('supervisor', '应答率调控：状态、滑动窗口、决策时间线 / answer-rate controller: state, sliding windows, decision timeline', {
        querystring: S.query({
          limit: S.string('时间线条数（1–500，默认 50） / timeline entries (1–500, default 50)'),
          all: S.oneOf(['true', 'false'], 'true = 每次决策（含保持） / every decision, holds included; default: changes only'),
        }),
      }),
    },
    async (req) => {
      const q = req.query as { limit?: string; all?: string };
      let limit = 50;
      if (q.limit !== undefined) {
        if (!/^\d{1,3}$/.test(q.limit) || Number(q.limit) < 1 || Number(q.limit) > 500) throw errors.invalid('limit', '必须是 1 到 500 的整数 / must be an integer from 1 to 500');
        limit = Number(q.limit);
      }
      const [status, timeline] = await Promise.all([d.runner.status(), d.runner.timeline(limit, q.all !== 'true')]);
      return { ...status, timeline };
    },
  );

  app.put(
    '/api/supervisor/controller',
    {
      ...ROLES,
      schema: S.route('supervisor', '开启或关闭应答率调控（留痕） / switch the answer-rate controller on or off (audited)', {
        body: S.body(
          {
            enabled: S.boolean('开启 / on'),
            version: S.integer('读取时的版本（防止覆盖他人修改） / the version you read (a change made meanwhile is refused with 409)', { minimum: 0 }),
          },
          ['enabled', 'version'],
        ),
      }),
    },
    async (req) => {
      const b = bodyOf(req);
      const expected = versionOf(b.version);
      if (typeof b.enabled !== 'boolean') throw errors.invalid('enabled', '必须是 true 或 false / must be true or false');
      const r = await d.runner.setEnabled(b.enabled, expected, req.user.username);
      if (!r.ok) throw staleVersion(r.current);
      await d.audit.record({ actor: req.user.username, action: b.enabled ? 'controller-enabled' : 'controller-disabled', target: 'controller', ip: req.ip });
      return { switch: r.switch };
    },
  );
}
