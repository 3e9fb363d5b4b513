import { ipv6FromBytes } from "../util/ipv6.ts";
import type { ConntrackEntry, ConntrackEventType, ConntrackTuple } from "./parse-conntrack.ts";

/** One conntrack netlink message: an event (NEW, UPDATE, DESTROY) or an entry of a table dump. */
export interface CtMessage {
  readonly type: ConntrackEventType | "ENTRY";
  readonly entry: ConntrackEntry;
  /** The kernel's time of a DESTROY (its entry's end), ms since the epoch (nf_conntrack_timestamp). */
  readonly timeMs?: number;
  /** For a DESTROY, when its entry began (kernel time, ms since the epoch). */
  readonly startMs?: number;
}

// linux/netfilter/nfnetlink_conntrack.h
const IPCTNL_MSG_CT_NEW = (1 << 8) | 0;
const IPCTNL_MSG_CT_DELETE = (1 << 8) | 2;
const NLM_F_CREATE = 0x400;
const NLM_F_EXCL = 0x200;
const CTA = {
  tupleOrig: 1,
  tupleReply: 2,
  status: 3,
  protoinfo: 4,
  help: 5,
  timeout: 7,
  mark: 8,
  id: 12,
  zone: 18,
  timestamp: 20,
};
const AF_INET = 2;
const AF_INET6 = 10;
const IPS_SEEN_REPLY = 0x2;
const IPS_ASSURED = 0x4;
const PROTO: Record<number, string> = {
  1: "icmp",
  6: "tcp",
  17: "udp",
  58: "icmpv6",
  132: "sctp",
  136: "udplite",
  33: "dccp",
  47: "gre",
};
const TCP_STATES = [
  "NONE",
  "SYN_SENT",
  "SYN_RECV",
  "ESTABLISHED",
  "FIN_WAIT",
  "CLOSE_WAIT",
  "LAST_ACK",
  "TIME_WAIT",
  "CLOSE",
  "SYN_SENT2",
];

/** Netlink attributes of a payload: type (flags masked off) to value. */
function attrs(buf: Buffer, start: number, end: number): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  let off = start;
  while (off + 4 <= end) {
    const len = buf.readUInt16LE(off);
    if (len < 4 || off + len > end) break;
    out.set(buf.readUInt16LE(off + 2) & 0x3fff, buf.subarray(off + 4, off + len));
    off += (len + 3) & ~3;
  }
  return out;
}
const nested = (b: Buffer | undefined) => (b ? attrs(b, 0, b.length) : new Map<number, Buffer>());

/** CTA_IP_V4_SRC/DST (4 bytes) or CTA_IP_V6_SRC/DST (16 bytes), as conntrack prints them. */
function address(b: Buffer | undefined): string {
  if (b?.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  if (b?.length === 16) return ipv6FromBytes(b);
  return "";
}

function tuple(b: Buffer | undefined): { tuple: ConntrackTuple; proto: number } {
  const t = nested(b);
  const ip = nested(t.get(1));
  const p = nested(t.get(2));
  const u16 = (k: number) => p.get(k)?.readUInt16BE(0);
  const u8 = (k: number) => p.get(k)?.readUInt8(0);
  return {
    proto: u8(1) ?? 0,
    tuple: {
      // CTA_IP_V4_SRC, _DST (1, 2) or CTA_IP_V6_SRC, _DST (3, 4).
      src: address(ip.get(1) ?? ip.get(3)),
      dst: address(ip.get(2) ?? ip.get(4)),
      sport: u16(2),
      dport: u16(3),
      // CTA_PROTO_ICMP_ID, _TYPE, _CODE (4, 5, 6) or CTA_PROTO_ICMPV6_ID, _TYPE, _CODE (7, 8, 9).
      type: u8(5) ?? u8(8),
      code: u8(6) ?? u8(9),
      id: u16(4) ?? u16(7),
    },
  };
}

/** A conntrack entry from a netlink message's attributes, as `conntrack -L -o extended,id` tells it. */
function entryOf(a: Map<number, Buffer>, family: number): ConntrackEntry | undefined {
  if (!a.has(CTA.tupleOrig) || !a.has(CTA.tupleReply)) return undefined;
  const orig = tuple(a.get(CTA.tupleOrig));
  const reply = tuple(a.get(CTA.tupleReply)).tuple;
  const status = a.get(CTA.status)?.readUInt32BE(0) ?? 0;
  const tcp = nested(nested(a.get(CTA.protoinfo)).get(1))
    .get(1)
    ?.readUInt8(0);
  const helper = nested(a.get(CTA.help)).get(1)?.toString("latin1").replace(/\0.*$/s, "");
  const original = orig.tuple;
  return {
    family: family === AF_INET ? 4 : family === AF_INET6 ? 6 : undefined,
    proto: PROTO[orig.proto] ?? String(orig.proto),
    state: tcp === undefined ? undefined : (TCP_STATES[tcp] ?? "NONE"),
    timeout: a.get(CTA.timeout)?.readUInt32BE(0),
    original,
    reply,
    assured: (status & IPS_ASSURED) !== 0,
    unreplied: (status & IPS_SEEN_REPLY) === 0,
    mark: a.get(CTA.mark)?.readUInt32BE(0),
    zone: a.get(CTA.zone)?.readUInt16BE(0),
    helper: helper || undefined,
    ctId: a.get(CTA.id)?.readUInt32BE(0),
    nat: { snat: reply.dst !== original.src, dnat: reply.src !== original.dst },
  };
}

/** A 64-bit nanosecond timestamp as ms since the epoch (µs kept). */
const ms = (ns: Buffer | undefined) =>
  ns?.length === 8 ? Number(ns.readBigUInt64BE(0) / 1000n) / 1000 : undefined;

/**
 * Parses conntrack netlink messages (events of the NEW/UPDATE/DESTROY groups, or the replies of
 * a table dump) as the kernel wrote them; anything else is skipped.
 */
export function parseCtMessages(buf: Buffer, dump = false): CtMessage[] {
  const out: CtMessage[] = [];
  let off = 0;
  while (off + 20 <= buf.length) {
    const len = buf.readUInt32LE(off);
    if (len < 16 || off + len > buf.length) break;
    const type = buf.readUInt16LE(off + 4);
    const flags = buf.readUInt16LE(off + 6);
    if (type === IPCTNL_MSG_CT_NEW || type === IPCTNL_MSG_CT_DELETE) {
      const a = attrs(buf, off + 20, off + len);
      // The nfgenmsg after the netlink header starts with the message's address family.
      const entry = entryOf(a, buf[off + 16]!);
      if (entry) {
        const kind: CtMessage["type"] = dump
          ? "ENTRY"
          : type === IPCTNL_MSG_CT_DELETE
            ? "DESTROY"
            : flags & (NLM_F_CREATE | NLM_F_EXCL)
              ? "NEW"
              : "UPDATE";
        // The kernel puts its timestamps (start, stop) on DESTROY events only.
        const ts = kind === "DESTROY" ? nested(a.get(CTA.timestamp)) : undefined;
        out.push({ type: kind, entry, timeMs: ms(ts?.get(2)), startMs: ms(ts?.get(1)) });
      }
    }
    off += (len + 3) & ~3;
  }
  return out;
}

/** A frame of the node's reader (images/common/usr/local/lib/fwlab/ctevents). */
export type CtFrame = { readonly kind: "R" | "D" | "E" | "L"; readonly payload: Buffer };

/** Splits the reader's output into frames: a kind byte, a 32-bit little-endian length, the payload. */
export function ctFrames(onFrame: (f: CtFrame) => void): (chunk: Buffer) => void {
  let pending: Buffer = Buffer.alloc(0);
  return (chunk) => {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    let off = 0;
    while (off + 5 <= pending.length) {
      const len = pending.readUInt32LE(off + 1);
      if (off + 5 + len > pending.length) break;
      onFrame({
        kind: String.fromCharCode(pending[off]!) as CtFrame["kind"],
        payload: pending.subarray(off + 5, off + 5 + len),
      });
      off += 5 + len;
    }
    pending = off ? pending.subarray(off) : pending;
    if (off && pending.length) pending = Buffer.from(pending); // do not keep a big chunk alive for its tail
  };
}
