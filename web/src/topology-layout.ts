/** A node of the drawing: a lab node and the networks it is on. */
export interface LayoutNode {
  readonly id: string;
  readonly networks: readonly string[];
}

export interface Point {
  readonly x: number;
  readonly y: number;
}

const HOST_GAP = 140;
const NET_Y = 0;
const HOST_Y = 150;
const ROUTER_Y = -170;

/**
 * Where each node and network goes, the way a network diagram is drawn: networks in a row, the
 * hosts of each network in a row under it, nodes on several networks (firewalls, routers) above,
 * centred over their networks. Deterministic (the same lab is drawn the same way each time) and
 * spaced so that labels of three lines and addresses on the links do not overlap.
 */
export function topologyLayout(
  networks: readonly string[],
  nodes: readonly LayoutNode[],
): Map<string, Point> {
  const at = new Map<string, Point>();
  const hostsOf = new Map(
    networks.map((n) => [n, nodes.filter((x) => x.networks.length === 1 && x.networks[0] === n)]),
  );
  let x = 0;
  for (const net of networks) {
    const hosts = hostsOf.get(net) ?? [];
    const width = Math.max(hosts.length, 1.4) * HOST_GAP;
    const centre = x + width / 2;
    at.set(`net:${net}`, { x: centre, y: NET_Y });
    hosts.forEach((h, i) => {
      at.set(h.id, { x: centre + (i - (hosts.length - 1) / 2) * HOST_GAP, y: HOST_Y });
    });
    x += width + HOST_GAP / 2;
  }
  // Routers above, each over the mean of its networks, pushed apart where two would collide.
  const routers = nodes
    .filter((n) => n.networks.length > 1)
    .map((n) => ({ id: n.id, x: mean(n.networks.map((net) => at.get(`net:${net}`)?.x ?? 0)) }))
    .sort((a, b) => a.x - b.x);
  let last = Number.NEGATIVE_INFINITY;
  for (const r of routers) {
    const rx = Math.max(r.x, last + HOST_GAP);
    at.set(r.id, { x: rx, y: ROUTER_Y });
    last = rx;
  }
  // Nodes on no network at all, in a row below everything.
  nodes
    .filter((n) => n.networks.length === 0)
    .forEach((n, i) => {
      at.set(n.id, { x: i * HOST_GAP, y: HOST_Y + 200 });
    });
  return at;
}

const mean = (xs: readonly number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
