/**
 * Who drives a cluster node's ARI application: pure decisions (no I/O), from what Redis says of the
 * node (src/cluster/leases.ts). Exactly one server instance drives a node's Stasis app at a time:
 * its own server (the "home") whenever it lives, otherwise one peer ("foster") that took it over
 * after the home's lease ran out, until the home is back.
 *
 *   home alive ─────────────▶ home:<node> and driver:<node> held (renewed) by the home
 *   home killed ────────────▶ both expire after the lease ─▶ a peer takes driver:<node> (SET NX),
 *                              connects to the node's ARI and adopts its calls
 *   home back ──────────────▶ sets home:<node>, waits ─▶ the foster sees it, stops (its calls stay in
 *                              Asterisk, its call lease released) and frees driver:<node> ─▶ the home
 *                              takes the driver, connects and adopts the calls at once
 */

/** What Redis holds for one node: the instance ids of its live home server and of its driver. */
export interface NodeView {
  readonly home: string | null;
  readonly driver: string | null;
}

/** A peer's move for a node it does not own. */
export type PeerAction =
  /** No home, no driver: take the node over (claim the driver lease, then connect). */
  | 'take'
  /** We drive it and its home is still away. */
  | 'keep'
  /** Its home is back: stop driving it and free the driver lease. */
  | 'hand-back'
  /** Someone else holds the driver lease we thought ours (it lapsed): stop at once, free nothing. */
  | 'lost'
  /** Nothing to do (its home or another peer drives it). */
  | 'idle';

export function peerStep(me: string, fostering: boolean, v: NodeView): PeerAction {
  if (fostering) {
    if (v.driver !== null && v.driver !== me) return 'lost';
    return v.home !== null ? 'hand-back' : 'keep';
  }
  return v.home === null && v.driver === null ? 'take' : 'idle';
}

/** The home server's move at start: drive its node once nobody else does (a foster hands it back). */
export function homeStep(me: string, v: NodeView): 'drive' | 'wait' {
  return v.driver === null || v.driver === me ? 'drive' : 'wait';
}

/** The instance id of a peer's foster for a node: readable in tickets and logs ("node-b-for-node-a"). */
export function fosterId(peerInstance: string, node: string): string {
  return `${peerInstance}-for-${node}`;
}
