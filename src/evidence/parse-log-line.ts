import type { PacketFields } from "./packet-fields.ts";

export interface LogLine {
  /** The --log-prefix text, trimmed ("" when the rule set none). */
  readonly prefix: string;
  readonly fields: PacketFields;
}

const TCP_FLAGS = new Set(["CWR", "ECE", "URG", "ACK", "PSH", "RST", "SYN", "FIN"]);

/**
 * Parses the text of an iptables LOG line as the kernel writes it:
 *   `ssh_drop IN=lan OUT= MAC=02:42:..:08:00 SRC=10.0.1.10 DST=10.0.1.1 LEN=60 TOS=0x00 PREC=0x00
 *    TTL=64 ID=4242 DF PROTO=TCP SPT=41234 DPT=22 WINDOW=64240 RES=0x00 SYN URGP=0`
 * The prefix runs up to "IN=" (LOG puts nothing between them, not even a space). Returns undefined for kernel
 * messages that are not LOG lines. ICMP errors quote the offending packet in [brackets]; those
 * inner fields are left out, the outer packet is what the rule saw.
 */
export function parseLogLine(text: string): LogLine | undefined {
  // A prefix without a trailing space runs into "IN=" ("ssh_acceptIN=lan"): seed 000 writes them so.
  const at = text.search(/IN=\S* OUT=/);
  if (at < 0) return undefined;
  const prefix = text.slice(0, at).trim();
  const body = text.slice(at).replace(/\[[^\]]*\]/g, " ");
  const kv: Record<string, string> = {};
  let echoId: number | undefined;
  const flags: string[] = [];
  for (const word of body.trim().split(/\s+/)) {
    const eq = word.indexOf("=");
    // The first value wins: ICMP echo lines repeat ID= (the IP id, then the echo id).
    if (eq > 0 && !(word.slice(0, eq) in kv)) kv[word.slice(0, eq)] = word.slice(eq + 1);
    else if (eq > 0 && word.startsWith("ID=")) echoId = Number(word.slice(3));
    else if (TCP_FLAGS.has(word)) flags.push(word);
  }
  const num = (k: string) => (kv[k] === undefined || kv[k] === "" ? undefined : Number(kv[k]));
  const str = (k: string) => (kv[k] === undefined || kv[k] === "" ? undefined : kv[k]);
  const proto = str("PROTO");
  return {
    prefix,
    fields: {
      in: str("IN"),
      out: str("OUT"),
      mac: str("MAC"),
      src: str("SRC"),
      dst: str("DST"),
      len: num("LEN"),
      tos: str("TOS"),
      ttl: num("TTL"),
      id: num("ID"),
      proto,
      spt: num("SPT"),
      dpt: num("DPT"),
      tcpFlags: proto === "TCP" ? flags : undefined,
      icmpType: proto === "ICMP" ? num("TYPE") : undefined,
      icmpCode: proto === "ICMP" ? num("CODE") : undefined,
      icmpId: proto === "ICMP" ? echoId : undefined,
      icmpSeq: proto === "ICMP" ? num("SEQ") : undefined,
    },
  };
}

/** One /dev/kmsg record: "prio,seq,usec,flags;text". */
export interface KmsgRecord {
  readonly seq: number;
  readonly usec: number;
  readonly text: string;
}

export function parseKmsgRecord(record: string): KmsgRecord | undefined {
  const m = /^(\d+),(\d+),(\d+),[^;]*;(.*)$/s.exec(record);
  if (!m) return undefined;
  // Continuation lines (" KEY=value") follow the first line; LOG never writes them.
  return { seq: Number(m[2]), usec: Number(m[3]), text: m[4]!.split("\n")[0]! };
}
