/**
 * fwlab's own nft table in a firewall: it marks packets for tracing and never decides a user
 * packet's fate (evidence/trace-every-packet.ts); not part of the user's ruleset. An `inet`
 * table: it traces IPv4 and IPv6 packets alike (IPv6 drops are told at once too).
 */
export const TRACE_TABLE = "fwlab_trace";
