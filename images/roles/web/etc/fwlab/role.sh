# Web server (nginx): HTTP on 80, HTTPS on 443 (self-signed for web.lab).
# GET /whoami answers with the client's address as the server saw it (proof of NAT).
FWLAB_ROLE=web
role_start() {
  echo "fwlab web server $(hostname)" > /var/www/html/index.html
  mkdir -p /run/fwlab
  if [ -n "${FWLAB_ADDR6:-}" ]; then
    printf 'listen [::]:80 default_server;\nlisten [::]:443 ssl default_server;\n'
  fi > /run/fwlab/nginx-listen6.conf
  spawn nginx -c /etc/fwlab/nginx.conf -g 'daemon off;'
}
role_check() {
  ready http "http://$FWLAB_ADDR/" && ready http "https://$FWLAB_ADDR/"
}
