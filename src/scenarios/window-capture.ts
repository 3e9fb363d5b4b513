import { writeFile } from "node:fs/promises";
import type { StartedLab } from "../lab/started-lab.ts";
import type { ExecStream } from "../runtime/container-runtime.ts";
import { eachLine } from "../util/each-line.ts";

const LIMIT = 64 * 1024 * 1024;

/**
 * A capture of every interface of a node for a whole scenario, kept in memory as pcap
 * records, so that a failed step's packets can be written out afterwards (its time window):
 * one tcpdump per node and scenario instead of one per step.
 */
export class WindowCapture {
  private header?: Buffer;
  private records: { ms: number; bytes: Buffer }[] = [];
  private size = 0;
  private pending: Buffer = Buffer.alloc(0);

  private constructor(private readonly stream: ExecStream) {
    stream.stdout.on("data", (chunk: Buffer) => this.push(chunk));
  }

  static async start(lab: StartedLab, node: string): Promise<WindowCapture> {
    const stream = await lab.execStream(node, [
      "tcpdump",
      "--immediate-mode",
      "-i",
      "any",
      "-U",
      "-w",
      "-",
      "-s",
      "512",
      "-n",
    ]);
    const cap = new WindowCapture(stream);
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve, reject) => {
      eachLine(stream.stderr, (l) => /listening on/.test(l) && resolve());
      stream.ended.then(() => reject(new Error(`[${node}] tcpdump ended before listening`)));
      // Never wait forever on a line: a run must not hang on its capture.
      timer = setTimeout(() => {
        void stream.stop();
        reject(new Error(`[${node}] tcpdump did not say it was listening within 15 s`));
      }, 15_000);
    }).finally(() => clearTimeout(timer));
    return cap;
  }

  /** Writes the packets captured between two times (ms since the epoch); resolves with their number. */
  async write(file: string, fromMs: number, toMs: number): Promise<number> {
    if (!this.header) return 0;
    const picked = this.records.filter((r) => r.ms >= fromMs && r.ms <= toMs);
    await writeFile(file, Buffer.concat([this.header, ...picked.map((r) => r.bytes)]));
    return picked.length;
  }

  stop(): Promise<void> {
    return this.stream.stop();
  }

  private push(chunk: Buffer): void {
    let buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    if (!this.header) {
      if (buf.length < 24) {
        this.pending = buf;
        return;
      }
      this.header = Buffer.from(buf.subarray(0, 24));
      buf = buf.subarray(24);
    }
    while (buf.length >= 16) {
      const len = buf.readUInt32LE(8);
      if (buf.length < 16 + len) break;
      const ms = buf.readUInt32LE(0) * 1000 + buf.readUInt32LE(4) / 1000;
      const bytes = Buffer.from(buf.subarray(0, 16 + len));
      this.records.push({ ms, bytes });
      this.size += bytes.length;
      while (this.size > LIMIT) this.size -= this.records.shift()!.bytes.length;
      buf = buf.subarray(16 + len);
    }
    this.pending = Buffer.from(buf);
  }
}
