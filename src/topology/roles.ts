/** The node roles fwlab knows; each has an image built from images/roles/<role>. */
export const ROLES = {
  firewall: "firewall/router: iptables (nft and legacy), nftables, conntrack-tools, tcpdump, ulogd2, sshd",
  client: "client: ping, dig, ssh, ftp/lftp/curl, netcat, nmap, hping3",
  dns: "DNS server (dnsmasq) for the lab's names and forwarded or 'external' names",
  ssh: "SSH server with user student (password and key)",
  ftp: "FTP server (vsftpd), active and passive, user student",
  web: "web server (nginx), HTTP 80 and HTTPS 443, GET /whoami",
  services: "generic service host listening on the TCP/UDP ports it is given",
} as const;

export type Role = keyof typeof ROLES;
export const ROLE_NAMES = Object.keys(ROLES) as Role[];
export const isRole = (s: string): s is Role => s in ROLES;

export const BASE_IMAGE = "fwlab/base:latest";
export const roleImage = (role: Role): string => `fwlab/${role}:latest`;
