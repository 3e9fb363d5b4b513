import type { Command } from "commander";
import { DockerRuntime } from "../../runtime/docker-runtime.ts";
import { serveDashboard } from "../../server/serve.ts";
import { interruptSignal } from "../context.ts";

export function serveCommand(program: Command): void {
  program
    .command("serve")
    .description("the live dashboard: topology, logs, conntrack, rules and scenario runs in a browser")
    .option("--host <host>", "address to listen on", "127.0.0.1")
    .option("--port <port>", "port (0: any free port)", "8080")
    .action(async (opts: { host: string; port: string }) => {
      const signal = interruptSignal();
      const dashboard = await serveDashboard(await DockerRuntime.connect(), {
        host: opts.host,
        port: Number(opts.port),
      });
      process.stderr.write(
        `dashboard: ${dashboard.url}\n` +
          "  every request needs the token in that URL; anyone who has the URL can run commands in the lab's nodes\n",
      );
      await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
      await dashboard.close();
    });
}
