#!/bin/sh
# Start the cluster's SIP front (kamailio.cfg) from the environment, in the foreground:
#   SIP_PROXY_LISTEN     address:port Kamailio listens on (UDP and TCP; TCP also serves /RPC)
#   SIP_PROXY_NODES      the Asterisk nodes, space-separated sip:host:port
#   AGENT_SIP_PASSWORDS  agent1001:secret,agent1002:secret,… (the same list as the Asterisk nodes')
#   SIP_PROXY_REALM      digest realm of the agents' registrations (default hotline)
#   SIP_PROXY_RPC_ALLOW  networks (CIDR, comma-separated) allowed to call /RPC (default 127.0.0.0/8);
#                        the hotline servers read agents' registrations there (SIP_PROXY_RPC_URL)
#   SIP_PROXY_DIR        where the rendered files go (default a new temporary directory)
#   SIP_PROXY_TLS_PORT, SIP_PROXY_TLS_CERT, SIP_PROXY_TLS_KEY
#                        wss://<listen address>:<port>/ws for agents' browsers (PEM files; all three or none)
# Every problem is named before Kamailio starts; secrets never reach the command line or the log.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
fail() { echo "kamailio/run.sh: $*" >&2; exit 2; }

listen=${SIP_PROXY_LISTEN:-}
nodes=${SIP_PROXY_NODES:-}
agents=${AGENT_SIP_PASSWORDS:-}
realm=${SIP_PROXY_REALM:-hotline}
rpc_allow=${SIP_PROXY_RPC_ALLOW:-127.0.0.0/8}
tls_port=${SIP_PROXY_TLS_PORT:-}
tls_cert=${SIP_PROXY_TLS_CERT:-}
tls_key=${SIP_PROXY_TLS_KEY:-}
problems=""
echo "$listen" | grep -Eq '^[0-9A-Za-z.-]+:[0-9]{1,5}$' || problems="$problems\n  SIP_PROXY_LISTEN must be host:port (got '$listen')"
[ -n "$nodes" ] || problems="$problems\n  SIP_PROXY_NODES must name at least one Asterisk node (sip:host:port)"
for n in $nodes; do
  echo "$n" | grep -Eq '^sip:[0-9A-Za-z.-]+:[0-9]{1,5}$' || problems="$problems\n  SIP_PROXY_NODES entry '$n' must be sip:host:port"
done
[ -n "$agents" ] || problems="$problems\n  AGENT_SIP_PASSWORDS must list agent<ext>:<password> pairs"
echo "$realm" | grep -Eq '^[A-Za-z0-9.-]{1,64}$' || problems="$problems\n  SIP_PROXY_REALM must be letters, digits, . - (got '$realm')"
echo "$rpc_allow" | grep -Eq '^[0-9a-fA-F.:/]+(,[0-9a-fA-F.:/]+)*$' || problems="$problems\n  SIP_PROXY_RPC_ALLOW must be CIDR networks, comma-separated (got '$rpc_allow')"
if [ -n "$tls_port$tls_cert$tls_key" ]; then
  echo "$tls_port" | grep -Eq '^[0-9]{1,5}$' || problems="$problems\n  SIP_PROXY_TLS_PORT must be a port number with SIP_PROXY_TLS_CERT and SIP_PROXY_TLS_KEY (got '$tls_port')"
  [ -r "$tls_cert" ] || problems="$problems\n  SIP_PROXY_TLS_CERT must be a readable PEM certificate with SIP_PROXY_TLS_PORT (got '$tls_cert')"
  [ -r "$tls_key" ] || problems="$problems\n  SIP_PROXY_TLS_KEY must be a readable PEM key with SIP_PROXY_TLS_PORT (got '$tls_key')"
fi
if [ -n "$problems" ]; then printf "kamailio/run.sh: configuration errors:$problems\n" >&2; exit 2; fi

dir=${SIP_PROXY_DIR:-$(mktemp -d)}
mkdir -p "$dir/db" "$dir/run"
: > "$dir/dispatcher.list"
for n in $nodes; do echo "1 $n" >> "$dir/dispatcher.list"; done
printf 'table_name(str) table_version(int)\nsubscriber:7\nlocation:9\n' > "$dir/db/version"
umask 077
printf 'id(int,auto) username(str) domain(str,null) password(str) ha1(str,null) ha1b(str,null)\n' > "$dir/db/subscriber"
i=0
for pair in $(echo "$agents" | tr ',' ' '); do
  user=${pair%%:*}
  pass=${pair#*:}
  echo "$user" | grep -Eq '^agent[0-9]{2,8}$' || fail "AGENT_SIP_PASSWORDS entry for '$user' must be agent<digits>:<password>"
  [ -n "$pass" ] && [ "$pass" != "$pair" ] || fail "AGENT_SIP_PASSWORDS entry for '$user' has no password"
  case "$pass" in *:*|*'\'*) fail "AGENT_SIP_PASSWORDS password of '$user' must not contain : or \\";; esac
  i=$((i + 1))
  echo "$i:$user::$pass::" >> "$dir/db/subscriber"
done

host=${listen%:*}
port=${listen##*:}
set -- -l "udp:$host:$port" -l "tcp:$host:$port"
if [ -n "$tls_port" ]; then
  printf '[server:default]\nmethod = TLSv1.2+\nverify_certificate = no\nrequire_certificate = no\ncertificate = %s\nprivate_key = %s\n\n[client:default]\nmethod = TLSv1.2+\nverify_certificate = no\nrequire_certificate = no\n' "$tls_cert" "$tls_key" > "$dir/tls.cfg"
  set -- "$@" -l "tls:$host:$tls_port" -A WITH_TLS -A "TLS_CFG=\"$dir/tls.cfg\""
fi
exec kamailio -DD -E -f "$here/kamailio.cfg" -Y "$dir/run" "$@" \
  -A "DS_LIST=\"$dir/dispatcher.list\"" -A "AUTH_DB=\"text://$dir/db\"" -A "SIP_REALM=\"$realm\"" -A "RPC_ALLOW=\"$rpc_allow\""
