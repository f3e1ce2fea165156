/**
 * GET /metrics for Prometheus. Not a user route: scrapers have no session.
 * Allowed when the request carries `Authorization: Bearer <METRICS_TOKEN>`
 * (if a token is configured) or comes from an address in METRICS_ALLOW;
 * anything else gets 401 naming what is missing, and the body never leaks.
 */
import { timingSafeEqual } from 'node:crypto';
import { BlockList, isIP } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../../metrics/index.js';
import { METRICS_CONTENT_TYPE } from '../../metrics/index.js';
import * as S from '../schemas.js';

/** CIDR list → BlockList (IPv4 and IPv6). Entries were validated by the config. */
export function allowList(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const c of cidrs) {
    const [addr, bits] = c.split('/') as [string, string | undefined];
    const type = isIP(addr) === 6 ? 'ipv6' : 'ipv4';
    list.addSubnet(addr, bits === undefined ? (type === 'ipv6' ? 128 : 32) : Number(bits), type);
  }
  return list;
}

export function addressAllowed(list: BlockList, address: string): boolean {
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (v4) return list.check(v4, 'ipv4');
  return isIP(address) === 6 ? list.check(address, 'ipv6') : isIP(address) === 4 && list.check(address, 'ipv4');
}

function tokenMatches(header: string | undefined, token: string): boolean {
  if (!token || !header?.startsWith('Bearer ')) return false;
  const a = Buffer.from(header.slice(7));
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

export async function metricsRoutes(app: FastifyInstance, o: { metrics: Metrics; token: string; allow: readonly string[] }): Promise<void> {
  const list = allowList(o.allow);
  app.get(
    '/metrics',
    {
      // Its own guard below (bearer token or allowed network), not a user session.
      config: { access: 'public' },
      schema: S.route('health', 'Prometheus 指标（METRICS_TOKEN 或 METRICS_ALLOW 网段） / Prometheus metrics (bearer METRICS_TOKEN or a METRICS_ALLOW network)'),
    },
    async (req, reply) => {
      if (!tokenMatches(req.headers.authorization, o.token) && !addressAllowed(list, req.socket.remoteAddress ?? '')) {
        reply.code(401);
        return {
          error: {
            code: 'metrics-denied',
            message: '指标需要 METRICS_TOKEN 持有者令牌或来自 METRICS_ALLOW 网段 / metrics need the METRICS_TOKEN bearer token or an address in METRICS_ALLOW',
            field: 'authorization',
          },
        };
      }
      reply.header('content-type', METRICS_CONTENT_TYPE).header('cache-control', 'no-store');
      return o.metrics.render();
    },
  );
}
