/**
 * More than one machine: cross-node takeover (README "More than one machine"). Each server drives
 * its own Asterisk node's Stasis app; when a server dies, a peer connects to the dead server's node
 * (same ARI app name) and continues its calls; when the server is back, the peer hands the node back.
 *
 * The peer's driver for a foreign node ("foster") is the same application built a second time
 * (`build`: buildApp) for that node — its ARI URL, the node in its call states, instance id
 * `<peer>-for-<node>`, no job workers, no cluster duties of its own — so the takeover reuses the
 * adoption of issue 20 unchanged: bridged calls keep talking, queued callers keep their place, a
 * caller in the IVR hears the flow again, each call ends with one ticket.
 *
 * Exactly one driver per node (takeover.ts, leases.ts): the home waits at start until a foster has
 * let go; a peer takes a node only when its home and driver leases have both run out.
 */
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/index.js';
import type { AppOptions, Core } from '../core.js';
import type { Feature } from '../features.js';
import { NodeLeases } from './leases.js';
import { clusterRoutes } from './routes.js';
import { fosterId, homeStep, peerStep } from './takeover.js';

/** What a foster needs of an application: start and stop. */
export interface Drivable {
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface ClusterServices {
  readonly cluster: {
    /** This server's node ('' outside a cluster). */
    readonly node: string;
    /** The peer nodes this server drives now (taken over), and their applications. */
    fostered(): ReadonlyMap<string, Drivable>;
  };
}

export function clusterFeature<A extends Drivable>(core: Core, deps: { build: (config: Config, opts: AppOptions) => Promise<A> }): ClusterServices & Feature {
  const { config, log, opts } = core;
  const { node, nodes } = config.cluster;
  const { leaseMs } = config.callState;
  const fosters = new Map<string, A>();
  const services: ClusterServices = { cluster: { node, fostered: () => fosters } };
  const leases = new NodeLeases(core.redis, core.prefix);
  const me = core.instanceId;
  // Also outside a cluster (an empty list then): the API is the same on every server.
  const routes = async (http: FastifyInstance) => {
    await http.register(clusterRoutes, { node, instanceId: me, nodes: Object.keys(nodes), leases, fostered: () => fosters });
  };
  // Outside a cluster, and inside a foster (its parent does the cluster's work): nothing to do.
  if (!node || opts.foster) return { name: 'cluster', ...services, ...(opts.foster ? {} : { routes }) };

  const renewMs = Math.max(100, Math.floor(leaseMs / 3));
  const peers = Object.keys(nodes).filter((n) => n !== node);
  /** Peer nodes whose driver lease we hold (taking, fostering or handing back). */
  const held = new Set<string>();
  const timers: NodeJS.Timeout[] = [];
  let deciding: Promise<void> | undefined;
  let closed = false;
  const clog = log.child({ component: 'cluster', node });

  const renew = async () => {
    try {
      await leases.hold('home', node, me, leaseMs);
      if (!(await leases.hold('driver', node, me, leaseMs))) clog.error('another instance drives this node: our driver lease lapsed (Redis away longer than the lease?)');
      for (const n of held) if (!(await leases.hold('driver', n, fosterId(me, n), leaseMs))) clog.warn({ peer: n }, 'driver lease of a fostered node lost');
    } catch (err) {
      clog.warn({ err: (err as Error).message }, 'cluster leases not renewed');
    }
  };

  const take = async (n: string) => {
    const id = fosterId(me, n);
    if (!(await leases.hold('driver', n, id, leaseMs))) return;
    held.add(n);
    const t0 = Date.now();
    clog.warn({ peer: n, ariUrl: nodes[n] }, 'peer node has no live server: taking it over');
    try {
      const app = await deps.build(
        {
          ...config,
          ari: { ...config.ari, url: nodes[n]! },
          // Agents' registrations and the node's health stay with this server's own links.
          ami: { ...config.ami, enabled: false },
          cluster: { ...config.cluster, node: n, registrationsUrl: '' },
        },
        { ...opts, instanceId: id, ticketWorker: false, foster: true },
      );
      if (closed || !held.has(n)) {
        // This server began stopping while the copy was being built: it must not start.
        await app.stop().catch(() => undefined);
        return;
      }
      fosters.set(n, app);
      await app.start();
      clog.warn({ peer: n, instance: id, ms: Date.now() - t0 }, 'peer node taken over');
    } catch (err) {
      clog.error({ peer: n, err: (err as Error).message }, 'taking a peer node over failed; its lease is freed for another try');
      await letGo(n, true);
    }
  };

  const letGo = async (n: string, release: boolean) => {
    const app = fosters.get(n);
    fosters.delete(n);
    // Stopping the foster leaves the calls in Asterisk and frees its call lease: the home adopts them at once.
    await app?.stop().catch((err: Error) => clog.warn({ peer: n, err: err.message }, 'foster stop failed'));
    held.delete(n);
    if (release) await leases.release('driver', n, fosterId(me, n)).catch(() => undefined);
  };

  const decide = async () => {
    for (const n of peers) {
      if (closed) return;
      const action = peerStep(fosterId(me, n), held.has(n), await leases.view(n));
      if (action === 'take') await take(n);
      else if (action === 'hand-back') {
        clog.warn({ peer: n }, 'peer node’s server is back: handing the node back');
        await letGo(n, true);
      } else if (action === 'lost') {
        clog.error({ peer: n }, 'another instance drives a node we fostered: letting go');
        await letGo(n, false);
      }
    }
  };

  return {
    name: 'cluster',
    ...services,
    routes,
    // Before the PBX link opens (every start runs before any open): the node must be ours to drive.
    async start() {
      await leases.hold('home', node, me, leaseMs).catch((err: Error) => clog.warn({ err: err.message }, 'home lease not taken'));
      const until = Date.now() + 2 * leaseMs + renewMs;
      for (;;) {
        let v;
        try {
          v = await leases.view(node);
          if (homeStep(me, v) === 'drive' && (await leases.hold('driver', node, me, leaseMs))) break;
        } catch (err) {
          // Redis unreachable: the leases cannot be checked. Connect as a single server would; the renewals
          // take the leases once Redis answers, and a peer driving this node meanwhile hands it back on
          // seeing our home lease.
          clog.warn({ err: (err as Error).message }, 'node leases unreadable at start; connecting');
          break;
        }
        if (Date.now() > until) {
          // A foster that never lets go (it hangs): better two drivers for a moment than none.
          clog.error({ driver: v.driver }, 'node still driven by another instance; connecting anyway');
          break;
        }
        clog.info({ driver: v.driver }, 'waiting for the peer that took this node over to hand it back');
        await leases.hold('home', node, me, leaseMs).catch(() => undefined);
        await new Promise((r) => setTimeout(r, renewMs));
      }
      timers.push(setInterval(() => void renew(), renewMs));
      timers.push(
        setInterval(() => {
          if (deciding || closed) return;
          deciding = decide()
            .catch((err: Error) => clog.warn({ err: err.message }, 'cluster check failed'))
            .finally(() => (deciding = undefined));
        }, renewMs),
      );
      for (const t of timers) t.unref();
    },
    // First to close (last feature): fostered nodes are left for their home or another peer.
    async close(step) {
      closed = true;
      await step('cluster check', deciding);
      for (const n of [...held]) await step(`foster ${n}`, letGo(n, true));
    },
    // After our own PBX link closed: the node may be driven by a peer at once.
    async stop(step) {
      for (const t of timers.splice(0)) clearInterval(t);
      await step('cluster leases', Promise.all([leases.release('driver', node, me), leases.release('home', node, me)]));
    },
  };
}
