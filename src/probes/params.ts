import { z } from "zod";

/** Step keys probes share. */
export const target = z
  .string()
  .min(1)
  .describe('a node ("web"), a node on one network ("fw:wan"), or an IPv4 address');
export const port = z.number().int().min(1).max(65535);
