import { z } from "zod";
import { isIpv6 } from "../util/ipv6.ts";

/** Step keys probes share. */
export const target = z
  .string()
  .min(1)
  .describe('a node ("web"), a node on one network ("fw:wan"), or an IPv4 or IPv6 address');

/** A target written as an address (IPv4 or IPv6), not a node's name. */
export const isAddress = (t: string): boolean => /^\d+\.\d+\.\d+\.\d+$/.test(t) || isIpv6(t);

/** "10.0.2.80:80", "[2001:db8:2::80]:80" */
export const hostPort = (addr: string, port: number | string): string =>
  addr.includes(":") ? `[${addr}]:${port}` : `${addr}:${port}`;
export const port = z.number().int().min(1).max(65535);
