import { resolve } from "node:path";
import Table from "cli-table3";
import type { Command } from "commander";
import { findChain, parseSave } from "../../firewall/parse-save.ts";
import { startLab } from "../../lab/start-lab.ts";
import type { StartedLab } from "../../lab/started-lab.ts";
import { serveDashboard } from "../../server/serve.ts";
import { toStderr } from "../../util/progress.ts";
import { commandEngine, interruptSignal } from "../context.ts";
import { statusTable } from "../status-table.ts";
import { DEFAULT_LAB_FILE } from "./lifecycle.ts";

const DEMO_RULES = "scenarios/demo/forward-counting.rules";

/** `npm start`: the default lab up, its nodes, and proof that packets cross the firewall. */
export function demoCommand(program: Command): void {
  program
    .command("demo")
    .description("start the default lab and show packets crossing the firewall (what `npm start` runs)")
    .option("--serve", "then start the dashboard and keep it running until Ctrl-C")
    .action(async (opts: { serve?: boolean }) => {
      const engine = await commandEngine();
      const lab = await startLab(DEFAULT_LAB_FILE, {
        engine,
        progress: toStderr,
        signal: interruptSignal(),
      });
      // startLab returned: every node answered, no need to ask Docker again.
      console.log(statusTable(lab.nodes.map((n) => ({ ...n, ready: true }))));
      console.log(
        `\nLoading ${DEMO_RULES} into fw (FORWARD policy DROP; lan may ping, browse and ask DNS in the dmz) ...`,
      );
      await lab.loadRuleset("fw", resolve(DEMO_RULES));
      await crossings(lab);
      console.log(
        "\nThe lab keeps running. Try: fwlab rules fw · fwlab exec client -- curl -s http://web/whoami · " +
          "fwlab load fw FILE · fwlab down",
      );
      if (!opts.serve) return;
      const signal = interruptSignal();
      const dashboard = await serveDashboard(engine, { host: "127.0.0.1", port: 8080 });
      console.log(`\nDashboard: ${dashboard.url}\n(Ctrl-C stops the dashboard; the lab keeps running)`);
      await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
      await dashboard.close();
    });
}

async function crossings(lab: StartedLab): Promise<void> {
  const ping = await lab.exec("client", ["ping", "-c", "3", "-i", "0.2", "-W", "1", "web"]);
  const got = /(\d+) received/.exec(ping.stdout)?.[1] ?? "0";
  console.log(`client -> web   ping x3: ${got}/3 replies`);
  const who = await lab.exec("client", ["curl", "-s", "-m", "2", "http://web/whoami"]);
  const saw = who.stdout.trim().split(" ")[0];
  console.log(
    who.exitCode === 0
      ? `client -> web   HTTP GET /whoami: web saw the client as ${saw} (fw routes; it does not translate)`
      : `client -> web   HTTP GET /whoami: failed (curl exit ${who.exitCode})`,
  );
  const blocked = await lab.exec("client", ["curl", "-s", "-m", "1", "http://inet/"]);
  console.log(
    `client -> inet  HTTP GET: ${blocked.exitCode === 28 ? "timeout: dropped by fw (no rule lets lan reach wan)" : `curl exit ${blocked.exitCode}`}`,
  );

  const save = await lab.exec("fw", ["fwlab-ruleset", "save"]);
  const forward = findChain(parseSave(save.stdout), "filter", "FORWARD");
  if (!forward) return;
  const t = new Table({ head: ["#", "packets", "bytes", "rule"], style: { head: [], border: [] } });
  for (const r of forward.rules) t.push([r.num, r.packets, r.bytes, r.comment ?? r.spec]);
  t.push(["policy", forward.packets, forward.bytes, `${forward.policy} (what no rule accepted)`]);
  console.log(`\nfw filter FORWARD counters (fwlab rules fw shows every chain):\n${t.toString()}`);
}
