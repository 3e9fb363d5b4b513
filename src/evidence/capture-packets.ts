import { createWriteStream } from "node:fs";
import { finished } from "node:stream/promises";
import { FwlabError } from "../errors.ts";
import type { StartedLab } from "../lab/started-lab.ts";
import { eachLine } from "../util/each-line.ts";

export interface Capture {
  /** Ends the capture; resolves with the number of packets written once the file is complete. */
  stop(): Promise<{ packets: number; file: string }>;
}

/**
 * Captures a node interface into a pcap file (readable by Wireshark) until `stop()`. Resolves
 * once tcpdump listens, so the packets of a step that starts after it are in the file.
 */
export async function capturePackets(
  lab: StartedLab,
  node: string,
  iface: string,
  file: string,
  filter: string[] = [],
): Promise<Capture> {
  const stream = await lab.execStream(node, [
    "tcpdump",
    "--immediate-mode",
    "-i",
    iface,
    "-U",
    "-w",
    "-",
    "-s",
    "0",
    "-n",
    ...filter,
  ]);
  const out = createWriteStream(file);
  stream.stdout.pipe(out);
  let packets = 0;
  const listening = new Promise<void>((resolve, reject) => {
    eachLine(stream.stderr, (line) => {
      if (/listening on/.test(line)) resolve();
      const m = /(\d+) packets? captured/.exec(line);
      if (m) packets = Number(m[1]);
      if (/tcpdump: .*(No such device|doesn't exist|syntax error)/.test(line))
        reject(new FwlabError(`[${node}] ${line.trim()}`, 2));
    });
    stream.ended.then(() => reject(new FwlabError(`[${node}] tcpdump on ${iface} ended before listening`)));
  });
  await listening;
  return {
    stop: async () => {
      // tcpdump writes its counts when it ends: wait for the stream to end after the kill.
      await stream.stop();
      await stream.ended;
      await finished(out).catch(() => {});
      return { packets, file };
    },
  };
}
