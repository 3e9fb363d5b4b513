import { type ConntrackWatch, watchConntrack } from "../evidence/conntrack-source.ts";
import type { EventBus } from "../evidence/event-bus.ts";
import { type NflogWatch, watchNflog } from "../evidence/nflog-source.ts";
import { listLabs } from "../lab/find-lab.ts";
import { StartedLab } from "../lab/started-lab.ts";
import type { Engine } from "../runtime/engine.ts";

interface Followed {
  readonly lab: StartedLab;
  /** Its containers when it was attached: other ones mean the lab was made again. */
  readonly containers: string;
  readonly conntrack: ConntrackWatch[];
  nflog?: NflogWatch[];
}

/**
 * The labs the dashboard follows, and their evidence listeners (conntrack, NFLOG). Labs come and
 * go while it serves: one that went down is let go of (its listeners stopped on purpose, no loss
 * reported), one made again (other containers) is followed anew, a new one is picked up. A
 * scenario run's worker gets its NFLOG lines from these listeners (nflog-for-worker.ts).
 */
export class LabFollower {
  private readonly followed = new Map<string, Followed>();
  /** Refreshes run one after another: two at once would both follow a lab. */
  private queue: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly engine: Engine,
    private readonly bus: EventBus,
  ) {}

  /** The labs followed now, attached. */
  labs(): ReadonlyMap<string, StartedLab> {
    return new Map([...this.followed].map(([name, f]) => [name, f.lab]));
  }

  /**
   * Looks at the engine once: lets go of labs that are gone or changed, follows new ones. Calls
   * from the poll timer, the API and start-up queue behind each other; after `stop()` none runs.
   */
  refresh(): Promise<void> {
    return this.serial(() => this.refreshNow());
  }

  private serial(step: () => Promise<void>): Promise<void> {
    const next = this.queue.then(() => (this.stopped ? undefined : step()));
    this.queue = next.catch(() => {}); // the caller hears of its failure; the next step still runs
    return next;
  }

  private async refreshNow(): Promise<void> {
    const now = await listLabs(this.engine.runtime);
    for (const [name, f] of this.followed) {
      const containers = now.get(name);
      const same =
        containers && ids(containers) === f.containers && containers.every((c) => c.state === "running");
      if (!same) await this.letGo(name);
    }
    for (const [name, containers] of now) {
      if (this.followed.has(name) || containers.some((c) => c.state !== "running")) continue;
      const lab = await StartedLab.attach(this.engine, name);
      const firewalls = lab.nodes.filter((n) => n.firewall);
      const f: Followed = {
        lab,
        containers: ids(containers),
        conntrack: await Promise.all(firewalls.map((n) => watchConntrack(lab, n.name, this.bus))),
      };
      this.followed.set(name, f);
      await this.followNflog(f);
    }
  }

  /** Lets go of every lab, once a refresh under way has ended (it may have just followed one). */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.queue;
    await Promise.all([...this.followed.keys()].map((name) => this.letGo(name)));
  }

  private async followNflog(f: Followed): Promise<void> {
    if (f.nflog) return;
    const firewalls = f.lab.nodes.filter((x) => x.firewall);
    f.nflog = await Promise.all(firewalls.map((n) => watchNflog(f.lab, n.name, this.bus)));
  }

  private async letGo(name: string): Promise<void> {
    const f = this.followed.get(name);
    this.followed.delete(name);
    if (!f) return;
    // Stopped on purpose: a listener whose lab is gone has nothing left to see.
    await Promise.allSettled([...f.conntrack, ...(f.nflog ?? [])].map((w) => w.stop()));
  }
}

const ids = (containers: readonly { id: string }[]) =>
  containers
    .map((c) => c.id)
    .sort()
    .join(",");
