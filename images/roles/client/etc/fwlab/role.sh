# Client: ping, dig, ssh, ftp/lftp/curl (active and passive FTP), netcat, nmap, hping3.
FWLAB_ROLE=client
role_start() { mkdir -p /root/.ssh && cp /etc/fwlab/keys/student /root/.ssh/id_ed25519 && chmod 600 /root/.ssh/id_ed25519; }
role_check() { true; }
