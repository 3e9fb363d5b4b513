import { compressIpv6, isIpv6 } from "../util/ipv6.ts";
import type { PacketFields } from "./packet-fields.ts";

export interface LogLine {
  /** The --log-prefix text, trimmed ("" when the rule set none). */
  readonly prefix: string;
  readonly fields: PacketFields;
}

const TCP_FLAGS = new Set(["CWR", "ECE", "URG", "ACK", "PSH", "RST", "SYN", "FIN"]);
// What LOG (and ulogd) print as PROTO= for IPv6; other protocols print their number.
const PROTO_NUMBERS: Record<string, number> = {
  TCP: 6,
  UDP: 17,
  UDPLITE: 136,
  ICMPv6: 58,
  ICMP: 1,
  SCTP: 132,
};

/**
 * Parses the text of an iptables LOG line as the kernel writes it:
 *   `ssh_drop IN=lan OUT= MAC=02:42:..:08:00 SRC=10.0.1.10 DST=10.0.1.1 LEN=60 TOS=0x00 PREC=0x00
 *    TTL=64 ID=4242 DF PROTO=TCP SPT=41234 DPT=22 WINDOW=64240 RES=0x00 SYN URGP=0`
 * The prefix runs up to "IN=" (LOG puts nothing between them, not even a space). Returns undefined for kernel
 * messages that are not LOG lines. ICMP errors quote the offending packet in [brackets]; those
 * inner fields are left out, the outer packet is what the rule saw.
 *
 * IPv6 lines carry TC, HOPLIMIT and FLOWLBL instead of TOS, TTL and the IP id, and the kernel
 * writes their addresses fully expanded (ulogd compressed); both come out compressed:
 *   `IN=lan OUT= MAC=02:42:0a:00:01:01:02:42:0a:00:01:0a:86:dd SRC=2001:0db8:0001:0000:0000:0000:0000:0010
 *    DST=2001:0db8:0001:0000:0000:0000:0000:0001 LEN=104 TC=0 HOPLIMIT=64 FLOWLBL=642416 PROTO=ICMPv6
 *    TYPE=128 CODE=0 ID=54 SEQ=1`
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
  const words = body.trim().split(/\s+/);
  for (const word of words) {
    const eq = word.indexOf("=");
    // The first value wins: ICMP echo lines repeat ID= (the IP id, then the echo id).
    if (eq > 0 && !(word.slice(0, eq) in kv)) kv[word.slice(0, eq)] = word.slice(eq + 1);
    else if (eq > 0 && word.startsWith("ID=")) echoId = Number(word.slice(3));
    else if (TCP_FLAGS.has(word)) flags.push(word);
  }
  const num = (k: string) => (kv[k] === undefined || kv[k] === "" ? undefined : Number(kv[k]));
  const str = (k: string) => (kv[k] === undefined || kv[k] === "" ? undefined : kv[k]);
  const proto = str("PROTO");
  const src = str("SRC");
  const dst = str("DST");
  const v6 = kv.HOPLIMIT !== undefined || (src !== undefined && isIpv6(src));
  if (v6) return { prefix, fields: ipv6Fields(kv, words, flags, num, str) };
  const icmp = proto === "ICMP";
  return {
    prefix,
    fields: {
      family: kv.TTL !== undefined || (src && /^\d+\.\d+\.\d+\.\d+$/.test(src)) ? 4 : undefined,
      in: str("IN"),
      out: str("OUT"),
      mac: macOf(str),
      src,
      dst,
      len: num("LEN"),
      tos: str("TOS"),
      ttl: num("TTL"),
      id: num("ID"),
      proto,
      spt: num("SPT"),
      dpt: num("DPT"),
      tcpFlags: proto === "TCP" ? flags : undefined,
      icmpType: icmp ? num("TYPE") : undefined,
      icmpCode: icmp ? num("CODE") : undefined,
      icmpId: icmp ? echoId : undefined,
      icmpSeq: icmp ? num("SEQ") : undefined,
    },
  };
}

/**
 * The MAC field as LOG prints it by default ("dst:src:type"); `--log-macdecode` prints it in
 * three (`MACSRC=02:42:0a:00:01:0a MACDST=02:42:0a:00:01:01 MACPROTO=0800`), put back together
 * here: the receiving interface's MAC is how a line is told to its node.
 */
function macOf(str: (k: string) => string | undefined): string | undefined {
  const dst = str("MACDST");
  const src = str("MACSRC");
  const type = str("MACPROTO");
  return (
    str("MAC") ??
    (dst && src ? `${dst}:${src}${type ? `:${type.slice(0, 2)}:${type.slice(2, 4)}` : ""}` : undefined)
  );
}

/**
 * An IPv6 line's fields. No IP id here: the only ID= is an echo's. A fragment header shows as
 * words of its own, inside "OPT ( )" with --log-ip-options: `FRAG:1448 [INCOMPLETE] ID:e34c9e5f`.
 */
function ipv6Fields(
  kv: Record<string, string>,
  words: readonly string[],
  flags: string[],
  num: (k: string) => number | undefined,
  str: (k: string) => string | undefined,
): PacketFields {
  const proto = str("PROTO");
  const icmp = proto === "ICMPv6";
  const addr = (k: string) => (kv[k] ? compressIpv6(kv[k]) : undefined);
  const frag = words.find((w) => /^FRAG:\d+$/.test(w));
  const fragId = words.find((w) => /^ID:[0-9a-f]+$/i.test(w));
  return {
    family: 6,
    in: str("IN"),
    out: str("OUT"),
    mac: macOf(str),
    src: addr("SRC"),
    dst: addr("DST"),
    len: num("LEN"),
    proto,
    spt: num("SPT"),
    dpt: num("DPT"),
    tcpFlags: proto === "TCP" ? flags : undefined,
    icmpType: icmp ? num("TYPE") : undefined,
    icmpCode: icmp ? num("CODE") : undefined,
    icmpId: icmp ? num("ID") : undefined,
    icmpSeq: icmp ? num("SEQ") : undefined,
    hopLimit: num("HOPLIMIT"),
    trafficClass: num("TC"),
    flowLabel: num("FLOWLBL"),
    nextHeader:
      proto === undefined
        ? undefined
        : (PROTO_NUMBERS[proto] ?? (/^\d+$/.test(proto) ? Number(proto) : undefined)),
    fragment: frag
      ? {
          offset: Number(frag.slice(5)),
          more: words.includes("INCOMPLETE"),
          id: fragId ? Number.parseInt(fragId.slice(3), 16) : 0,
        }
      : undefined,
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
