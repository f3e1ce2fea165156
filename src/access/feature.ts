/**
 * Access: users, roles, sessions and the audit log; the access plugin every route after it must
 * declare itself to; the first admin from the configuration. Other features tell it where a full
 * number lives (`numbers.provide`): the plugin reveals numbers, audited, and knows no calls or tickets.
 */
import websocket from '@fastify/websocket';
import type { Core } from '../core.js';
import type { Feature } from '../features.js';
import { accessPlugin } from '../http/plugins/access.js';
import { AuditLog } from './audit.js';
import { numberIds, type NumberId } from './number-id.js';
import { UserStore } from './users.js';

export type NumberKind = 'call' | 'ticket';
/** Where a full number may be found: undefined when this source does not know the call or ticket. */
export type NumberSource = (kind: NumberKind, id: string) => Promise<string | undefined> | string | undefined;

/** The sources of full numbers, asked in the order they were provided; the first that knows wins. */
export class NumberDirectory {
  private readonly sources: NumberSource[] = [];
  provide(source: NumberSource): void {
    this.sources.push(source);
  }
  async lookup(kind: NumberKind, id: string): Promise<string | undefined> {
    for (const source of this.sources) {
      const n = await source(kind, id);
      if (n) return n;
    }
    return undefined;
  }
}

export interface AccessServices {
  readonly users: UserStore;
  readonly audit: AuditLog;
  /** Keyed ids derived from numbers (block list, caller index, audit targets). */
  readonly numberId: NumberId;
  readonly numbers: NumberDirectory;
}

export function accessFeature(core: Core): AccessServices & Feature {
  const { config, redis, prefix, log } = core;
  const users = new UserStore(redis, prefix, config.access.passwordHash);
  const audit = new AuditLog(redis, prefix, config.access.auditRetain);
  const numbers = new NumberDirectory();
  return {
    name: 'access',
    users,
    audit,
    numberId: numberIds(config.access.numberIdKey),
    numbers,
    async routes(http) {
      // First of the routes, so that every route registered after it must declare who may call it.
      await http.register(accessPlugin, {
        redis,
        keyPrefix: prefix,
        users,
        audit,
        jwtSecret: config.access.jwtSecret,
        tokenTtlSec: config.access.tokenTtlSec,
        cookieSecure: config.access.cookieSecure,
        loginMaxFailures: config.access.loginMaxFailures,
        loginWindowSec: config.access.loginWindowSec,
        apiRatePerMinute: config.access.apiRatePerMinute,
        lookupNumber: (kind, id) => numbers.lookup(kind, id),
      });
      // WebSocket support right after: its hooks run after the access check, so an upgrade is checked first.
      await http.register(websocket);
    },
    async start() {
      const admin = config.access.bootstrapAdmin;
      if (!admin) return;
      try {
        if (!(await users.hasAdmin())) {
          await users.create({ username: admin.username, displayName: admin.username, roles: ['admin'], password: admin.password });
          await audit.record({ actor: 'system', action: 'user-created', target: admin.username, detail: 'first admin from HOTLINE_ADMIN_USER' });
          log.info({ username: admin.username }, 'first admin created');
        }
      } catch (err) {
        log.error({ err: (err as Error).message }, 'could not create the first admin');
      }
    },
  };
}
