import type { Command } from "commander";
import { serveDashboard } from "../../server/serve.ts";
import { commandEngine, interruptSignal } from "../context.ts";

const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1"]);

export function serveCommand(program: Command): void {
  program
    .command("serve")
    .description("the live dashboard: topology, logs, conntrack, rules and scenario runs in a browser")
    .option("--host <host>", "address to listen on", "127.0.0.1")
    .option("--port <port>", "port (0: any free port)", "8080")
    .option("--tls-cert <file>", "serve HTTPS with this certificate (PEM; with --tls-key)")
    .option("--tls-key <file>", "the certificate's private key (PEM)")
    .action(async (opts: { host: string; port: string; tlsCert?: string; tlsKey?: string }) => {
      if (!!opts.tlsCert !== !!opts.tlsKey) {
        process.stderr.write("fwlab: --tls-cert and --tls-key go together\n");
        process.exit(2);
      }
      const signal = interruptSignal();
      // A server that runs commands in lab nodes must not die of a mistake in one request.
      process.on("unhandledRejection", (err) =>
        process.stderr.write(
          `fwlab serve: an error no request handled (still serving): ${(err as Error).message}\n`,
        ),
      );
      const dashboard = await serveDashboard(await commandEngine(), {
        host: opts.host,
        port: Number(opts.port),
        tlsCert: opts.tlsCert,
        tlsKey: opts.tlsKey,
      });
      process.stderr.write(
        `dashboard: ${dashboard.url}\n` +
          "  the token is the part after #token= (the page keeps it in memory until it is reloaded; it is never sent in an address);\n" +
          "  anyone who has it can run commands in the lab's nodes\n",
      );
      if (!LOOPBACK.has(opts.host) && !dashboard.tls)
        process.stderr.write(
          `  WARNING: listening on ${opts.host} without TLS: the token and everything the page shows travel in clear; use --tls-cert/--tls-key, or an SSH tunnel to 127.0.0.1\n`,
        );
      await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
      await dashboard.close();
      // Everything was closed (each step bounded): a handle something forgot must not keep
      // Ctrl-C from ending the process. Said, then the process ends anyway.
      setTimeout(() => {
        process.stderr.write(
          `fwlab serve: still open 5 s after closing (${process.getActiveResourcesInfo().join(", ")}); exiting\n`,
        );
        process.exit(0);
      }, 5000).unref();
    });
}
