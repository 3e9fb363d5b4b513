# The host helper (not a lab role): fwlab starts it itself with host namespaces, running
# /usr/local/lib/fwlab/hostd.js; it has no init and no services.
FWLAB_ROLE=hostd
role_start() { true; }
role_check() { true; }
