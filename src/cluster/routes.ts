/**
 * The cluster over HTTP, for supervisors and admins: which server drives each Asterisk node now
 * (its own, or a peer that took it over) — what an operator checks after a server died or returned.
 */
import type { FastifyInstance } from 'fastify';
import * as S from '../http/schemas.js';
import type { NodeLeases } from './leases.js';

export interface ClusterRouteDeps {
  node: string;
  instanceId: string;
  nodes: readonly string[];
  leases: NodeLeases;
  fostered: () => ReadonlyMap<string, unknown>;
}

export async function clusterRoutes(app: FastifyInstance, d: ClusterRouteDeps): Promise<void> {
  app.get(
    '/api/supervisor/cluster',
    {
      config: { access: { roles: ['supervisor', 'admin'] } },
      schema: S.route('supervisor', '集群：各 Asterisk 节点由哪个服务实例驱动 / cluster: which server instance drives each Asterisk node'),
    },
    async () => {
      const nodes = [];
      for (const name of d.nodes) {
        const v = await d.leases.view(name);
        nodes.push({
          name,
          // home: the node's own server, alive; driver: connected to the node's ARI app (the home, or a peer's copy).
          home: v.home,
          driver: v.driver,
          takenOver: v.driver !== null && v.driver !== v.home,
          drivenFromHere: name === d.node ? v.driver === d.instanceId : d.fostered().has(name),
        });
      }
      return { node: d.node, instance: d.instanceId, nodes };
    },
  );
}
