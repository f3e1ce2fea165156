#!/bin/sh
# =============================================================================
# docker-entrypoint.sh - start Asterisk 22 with the hotline configuration.
#
# Asterisk config files have no environment expansion. We do NOT template the
# committed files: they are real Asterisk configs that load unchanged. Each
# site-specific or secret value is pulled in with `#include "generated/..."`
# and this script writes those small generated files, from a fixed whitelist
# of environment variables, before Asterisk starts:
#
#   ARI_PASSWORD         -> generated/ari-hotline.conf       (password = ...)
#   AMI_SECRET           -> generated/manager-hotline.conf   (secret = ...)
#   AMI_PERMIT           -> generated/manager-hotline.conf   (permit = ..., CIDR list)
#   ASTERISK_HTTP_BIND   -> generated/http-bind.conf         (bindaddr, default 0.0.0.0)
#   ASTERISK_HTTP_PORT   -> generated/http-bind.conf         (bindport, default 8088: ARI + SIP over WS)
#   ASTERISK_TLS_CERT, ASTERISK_TLS_KEY -> generated/http-tls.conf (PEM files, both or neither: HTTPS
#                           + SIP over WSS for agents' browsers; copied to generated/http-tls.{crt,key})
#   ASTERISK_HTTPS_PORT  -> generated/http-tls.conf          (tlsbindaddr port, default 8089)
#   ASTERISK_AMI_BIND    -> generated/manager-bind.conf      (bindaddr, default 0.0.0.0)
#   ASTERISK_AMI_PORT    -> generated/manager-bind.conf      (port, default 5038)
#   ASTERISK_SIP_BIND    -> generated/transport-udp-bind.conf (default 0.0.0.0)
#   ASTERISK_SIP_PORT    -> generated/transport-udp-bind.conf (default 5060)
#   RTP_PORT_START, RTP_PORT_END -> generated/rtp-ice.conf   (optional, default 10000-12999)
#   ASTERISK_SYSTEM_NAME -> asterisk.conf systemname           (optional; REQUIRED and distinct per node in a
#                           cluster: it prefixes channel ids, which name calls and their tickets)
#   AGENT_SIP_PASSWORDS  -> generated/agents.conf            ("agent1001:pw,agent1002:pw": endpoint, aor, auth each)
#   AGENT_MEDIA_ADDRESS  -> generated/agent-media.conf       (media_address, optional)
#   RTP_ICE_PERMIT       -> generated/rtp-ice.conf           (ICE host candidate networks, optional)
#   SIP_TRUNK_CARRIER, SIP_TRUNK_LINKAGE_110, SIP_TRUNK_LINKAGE_119,
#   SIP_TRUNK_LINKAGE_120, SIP_TRUNK_LINKAGE_122, SIP_TRUNK_SUBCENTER_12366,
#   SIP_TRUNK_SUBCENTER_12369, SIP_TRUNK_SUBCENTER_12367, SIP_TRUNK_SUBCENTER_12313,
#   SIP_TRUNK_SUBPLATFORM_12333, SIP_TRUNK_SUBPLATFORM_12329, SIP_TRUNK_SUBPLATFORM_12320,
#   SIP_TRUNK_SUBPLATFORM_12315, SIP_TRUNK_SUBPLATFORM_12319, SIP_TRUNK_SUBPLATFORM_12393,
#   SIP_TRUNK_SUBPLATFORM_12328, SIP_TRUNK_TRANSFER_12333
#                        -> generated/trunk-<name>-{match,acl,contact}.conf
#                           (comma list of IPv4 addresses/CIDRs of that trunk)
#   HOTLINE_ENV          production (default) | development
#
# Nothing else from the environment reaches Asterisk. Values are validated
# (no ';', quotes, backslashes, whitespace or newlines - they would end or
# corrupt an Asterisk config line); in production, missing, placeholder
# ("change-me...") or short (< 12 chars) secrets stop the container.
#
# Layout: committed files are mounted read-only at $ASTERISK_CONF_SRC
# (/etc/hotline/asterisk) and $DIALPLAN_SRC (/etc/hotline/dialplan); they are
# copied over the image's /etc/asterisk ($ASTERISK_ETC), generated files go to
# $ASTERISK_ETC/generated (mode 0600).
#
#   docker-entrypoint.sh                 render, then exec Asterisk in foreground
#   docker-entrypoint.sh --render-only   render and exit (tests, debugging)
#   docker-entrypoint.sh <cmd> ...       render, then exec <cmd>
# =============================================================================
set -eu
# No pathname expansion: secrets may contain * or ? and are split with $(...).
set -f

ASTERISK_CONF_SRC=${ASTERISK_CONF_SRC:-/etc/hotline/asterisk}
DIALPLAN_SRC=${DIALPLAN_SRC:-/etc/hotline/dialplan}
ASTERISK_ETC=${ASTERISK_ETC:-/etc/asterisk}
HOTLINE_ENV=${HOTLINE_ENV:-production}
GEN="$ASTERISK_ETC/generated"

# One per trunk endpoint of pjsip.conf (every trunk a preset dials: tests/unit/preset-trunks.test.ts).
TRUNKS="carrier linkage-110 linkage-119 linkage-120 linkage-122 subcenter-12366 subcenter-12369
  subcenter-12367 subcenter-12313
  subplatform-12333 subplatform-12329 subplatform-12320 subplatform-12315 subplatform-12319 subplatform-12393 subplatform-12328
  transfer-12333"
# RFC 5737 TEST-NET-1: never routed. Used as the identify match of a trunk
# whose address is not configured, so that it can never match real traffic.
UNCONFIGURED_TRUNK_IP=192.0.2.1

die() { echo "docker-entrypoint: $*" >&2; exit 1; }
warn() { echo "docker-entrypoint: warning: $*" >&2; }

case "$HOTLINE_ENV" in
  production|development) ;;
  *) die "HOTLINE_ENV must be production or development (got '$HOTLINE_ENV')" ;;
esac

# A value safe on the right-hand side of an Asterisk config line.
safe_value() { # name value
  case "$2" in
    *[!A-Za-z0-9!%\&\(\)*+,./:\<=\>?@^_{\|}~-]*)
      die "$1 contains a character not allowed in Asterisk config (allowed: letters, digits, !%&()*+,./:<=>?@^_{|}~-)" ;;
  esac
}

# A secret: present, safe, and - in production - not a placeholder nor short.
check_secret() { # name value
  [ -n "$2" ] || die "$1 is required"
  safe_value "$1" "$2"
  lower=$(printf '%s' "$2" | tr 'A-Z' 'a-z')
  weak=""
  case "$lower" in
    change-me*|changeme*|change_me*|password*|secret*|placeholder*|hotline|asterisk|admin*|test*) weak="is a placeholder" ;;
  esac
  if [ -z "$weak" ] && [ "${#2}" -lt 12 ]; then weak="is shorter than 12 characters"; fi
  if [ -n "$weak" ]; then
    if [ "$HOTLINE_ENV" = production ]; then
      die "$1 $weak; set a strong value (HOTLINE_ENV=development allows it for local tests)"
    fi
    warn "$1 $weak (accepted because HOTLINE_ENV=development)"
  fi
}

# Comma-separated IPv4 addresses, each optionally /prefix or /netmask.
check_ipv4_list() { # name value
  for item in $(printf '%s' "$2" | tr ',' ' '); do
    printf '%s\n' "$item" | grep -Eq '^([0-9]{1,3}\.){3}[0-9]{1,3}(/([0-9]{1,2}|([0-9]{1,3}\.){3}[0-9]{1,3}))?$' \
      || die "$1: '$item' is not an IPv4 address or network (a.b.c.d[/nn])"
  done
}

check_ipv4() { # name value
  printf '%s\n' "$2" | grep -Eq '^([0-9]{1,3}\.){3}[0-9]{1,3}$' || die "$1: '$2' is not an IPv4 address"
}

check_port() { # name value
  printf '%s\n' "$2" | grep -Eq '^[0-9]{1,5}$' && [ "$2" -ge 1 ] && [ "$2" -le 65535 ] \
    || die "$1: '$2' is not a port number (1-65535)"
}

write_gen() { # file ; content on stdin
  umask 077
  cat > "$GEN/$1.tmp"
  mv "$GEN/$1.tmp" "$GEN/$1"
}

header() { echo "; GENERATED by docker-entrypoint.sh at container start - do not edit, do not commit"; }

# ---------------------------------------------------------------- copy configs
[ -d "$ASTERISK_CONF_SRC" ] || die "ASTERISK_CONF_SRC $ASTERISK_CONF_SRC is not a directory"
[ -f "$DIALPLAN_SRC/extensions.conf" ] || die "$DIALPLAN_SRC/extensions.conf not found"
mkdir -p "$ASTERISK_ETC" "$GEN"
chmod 0750 "$GEN"
set +f
for f in "$ASTERISK_CONF_SRC"/*.conf; do
  cp "$f" "$ASTERISK_ETC/$(basename "$f")"
done
set -f
cp "$DIALPLAN_SRC/extensions.conf" "$ASTERISK_ETC/extensions.conf"

# Channel ids are <epoch>.<seq>: two nodes of a cluster create the same ids in the same second, and
# the server names calls (and their ticket jobs) by them. A system name per node prefixes them.
ASTERISK_SYSTEM_NAME=${ASTERISK_SYSTEM_NAME:-}
if [ -n "$ASTERISK_SYSTEM_NAME" ]; then
  printf '%s' "$ASTERISK_SYSTEM_NAME" | grep -Eq '^[A-Za-z0-9_-]{1,32}$' || die "ASTERISK_SYSTEM_NAME must be 1-32 letters, digits, _ or - (got '$ASTERISK_SYSTEM_NAME')"
  sed -i "s/^\[options\]\$/[options]\nsystemname = $ASTERISK_SYSTEM_NAME/" "$ASTERISK_ETC/asterisk.conf"
  grep -q "^systemname = $ASTERISK_SYSTEM_NAME\$" "$ASTERISK_ETC/asterisk.conf" || die "asterisk.conf has no [options] section to put systemname in"
fi

# ---------------------------------------------------------------------- http
ASTERISK_HTTP_BIND=${ASTERISK_HTTP_BIND:-0.0.0.0}
check_ipv4 ASTERISK_HTTP_BIND "$ASTERISK_HTTP_BIND"
ASTERISK_HTTP_PORT=${ASTERISK_HTTP_PORT:-8088}
check_port ASTERISK_HTTP_PORT "$ASTERISK_HTTP_PORT"
{ header; echo "bindaddr = $ASTERISK_HTTP_BIND"; echo "bindport = $ASTERISK_HTTP_PORT"; } | write_gen http-bind.conf

# TLS on the same HTTP server (its own port): wss://<host>:8089/ws for agents' browsers, which
# give a page the microphone only in a secure context. The files are copied next to the other
# generated files so that Asterisk, running as user asterisk, can read a key mounted root-only.
ASTERISK_TLS_CERT=${ASTERISK_TLS_CERT:-}
ASTERISK_TLS_KEY=${ASTERISK_TLS_KEY:-}
ASTERISK_HTTPS_PORT=${ASTERISK_HTTPS_PORT:-8089}
check_port ASTERISK_HTTPS_PORT "$ASTERISK_HTTPS_PORT"
if [ -n "$ASTERISK_TLS_CERT$ASTERISK_TLS_KEY" ]; then
  [ -n "$ASTERISK_TLS_CERT" ] || die "ASTERISK_TLS_CERT is required when ASTERISK_TLS_KEY is set"
  [ -n "$ASTERISK_TLS_KEY" ] || die "ASTERISK_TLS_KEY is required when ASTERISK_TLS_CERT is set"
  [ "$ASTERISK_HTTPS_PORT" != "$ASTERISK_HTTP_PORT" ] || die "ASTERISK_HTTPS_PORT must differ from ASTERISK_HTTP_PORT ($ASTERISK_HTTP_PORT)"
  [ -r "$ASTERISK_TLS_CERT" ] || die "ASTERISK_TLS_CERT: cannot read $ASTERISK_TLS_CERT"
  [ -r "$ASTERISK_TLS_KEY" ] || die "ASTERISK_TLS_KEY: cannot read $ASTERISK_TLS_KEY"
  grep -q -- '-----BEGIN CERTIFICATE-----' "$ASTERISK_TLS_CERT" || die "ASTERISK_TLS_CERT: $ASTERISK_TLS_CERT is not a PEM certificate"
  grep -q -- '-----BEGIN .*PRIVATE KEY-----' "$ASTERISK_TLS_KEY" || die "ASTERISK_TLS_KEY: $ASTERISK_TLS_KEY is not a PEM private key"
  ! grep -q -- '-----BEGIN ENCRYPTED PRIVATE KEY-----' "$ASTERISK_TLS_KEY" || die "ASTERISK_TLS_KEY: $ASTERISK_TLS_KEY is encrypted (Asterisk cannot ask for its passphrase)"
  write_gen http-tls.crt < "$ASTERISK_TLS_CERT"
  write_gen http-tls.key < "$ASTERISK_TLS_KEY"
  {
    header
    echo "tlsenable = yes"
    echo "tlsbindaddr = $ASTERISK_HTTP_BIND:$ASTERISK_HTTPS_PORT"
    echo "tlscertfile = $GEN/http-tls.crt"
    echo "tlsprivatekey = $GEN/http-tls.key"
    # TLS 1.2 and later only; OpenSSL's default ciphers (an RSA or ECDSA certificate both work).
    echo "tlsdisablev1 = yes"
    echo "tlsdisablev11 = yes"
  } | write_gen http-tls.conf
else
  { header; echo "; ASTERISK_TLS_CERT/ASTERISK_TLS_KEY not set: no HTTPS/WSS (agents' browsers need it outside localhost)"; } \
    | write_gen http-tls.conf
  [ "$HOTLINE_ENV" = production ] && warn "ASTERISK_TLS_CERT is not set: no wss:// for agents' softphones (browsers outside localhost need it)"
fi

# ----------------------------------------------------------------------- ARI
ARI_PASSWORD=${ARI_PASSWORD:-}
check_secret ARI_PASSWORD "$ARI_PASSWORD"
{ header; echo "password = $ARI_PASSWORD"; } | write_gen ari-hotline.conf

# ----------------------------------------------------------------------- AMI
ASTERISK_AMI_BIND=${ASTERISK_AMI_BIND:-0.0.0.0}
check_ipv4 ASTERISK_AMI_BIND "$ASTERISK_AMI_BIND"
ASTERISK_AMI_PORT=${ASTERISK_AMI_PORT:-5038}
check_port ASTERISK_AMI_PORT "$ASTERISK_AMI_PORT"
{ header; echo "bindaddr = $ASTERISK_AMI_BIND"; echo "port = $ASTERISK_AMI_PORT"; } | write_gen manager-bind.conf

AMI_SECRET=${AMI_SECRET:-}
check_secret AMI_SECRET "$AMI_SECRET"
AMI_PERMIT=${AMI_PERMIT:-127.0.0.1/32}
check_ipv4_list AMI_PERMIT "$AMI_PERMIT"
{
  header
  echo "secret = $AMI_SECRET"
  for net in $(printf '%s' "$AMI_PERMIT" | tr ',' ' '); do echo "permit = $net"; done
} | write_gen manager-hotline.conf

# ------------------------------------------------------------- SIP transport
ASTERISK_SIP_BIND=${ASTERISK_SIP_BIND:-0.0.0.0}
check_ipv4 ASTERISK_SIP_BIND "$ASTERISK_SIP_BIND"
ASTERISK_SIP_PORT=${ASTERISK_SIP_PORT:-5060}
check_port ASTERISK_SIP_PORT "$ASTERISK_SIP_PORT"
{ header; echo "bind = $ASTERISK_SIP_BIND:$ASTERISK_SIP_PORT"; } | write_gen transport-udp-bind.conf

# ----------------------------------------------------------------- SIP trunks
for trunk in $TRUNKS; do
  var="SIP_TRUNK_$(printf '%s' "$trunk" | tr 'a-z-' 'A-Z_')"
  eval "addrs=\${$var:-}"
  if [ -n "$addrs" ]; then
    check_ipv4_list "$var" "$addrs"
    first=$(printf '%s' "$addrs" | cut -d, -f1 | cut -d/ -f1)
    { header; for a in $(printf '%s' "$addrs" | tr ',' ' '); do echo "match = $a"; done; } \
      | write_gen "trunk-$trunk-match.conf"
    { header; echo "deny = 0.0.0.0/0.0.0.0"; for a in $(printf '%s' "$addrs" | tr ',' ' '); do echo "permit = $a"; done; } \
      | write_gen "trunk-$trunk-acl.conf"
    case "$addrs" in
      */*) { header; echo "; $var is a network: no single contact, outbound needs a contact"; } | write_gen "trunk-$trunk-contact.conf" ;;
      *) { header; echo "contact = sip:$first:5060"; } | write_gen "trunk-$trunk-contact.conf" ;;
    esac
  else
    [ "$HOTLINE_ENV" = production ] && [ "$trunk" = carrier ] && warn "$var is not set: no citizen call can arrive"
    { header; echo "; $var not set: matches nothing routable"; echo "match = $UNCONFIGURED_TRUNK_IP"; } \
      | write_gen "trunk-$trunk-match.conf"
    { header; echo "; $var not set: refuse everything"; echo "deny = 0.0.0.0/0.0.0.0"; } \
      | write_gen "trunk-$trunk-acl.conf"
    { header; echo "; $var not set: no contact"; } | write_gen "trunk-$trunk-contact.conf"
  fi
done

# --------------------------------------------------------------------- agents
AGENT_SIP_PASSWORDS=${AGENT_SIP_PASSWORDS:-}
# Validate in this shell first: `die` inside a pipeline would only end a subshell.
for pair in $(printf '%s' "$AGENT_SIP_PASSWORDS" | tr ',' ' '); do
  name=${pair%%:*}
  pw=${pair#*:}
  [ "$name" != "$pair" ] || die "AGENT_SIP_PASSWORDS: entry '$name' has no ':password'"
  printf '%s\n' "$name" | grep -Eq '^agent[0-9]{3,8}$' || die "AGENT_SIP_PASSWORDS: '$name' is not an agent endpoint name (agentNNNN)"
  case "$pw" in *:*) die "AGENT_SIP_PASSWORDS: password of $name contains ':'" ;; esac
  check_secret "AGENT_SIP_PASSWORDS($name)" "$pw"
done
{
  header
  for pair in $(printf '%s' "$AGENT_SIP_PASSWORDS" | tr ',' ' '); do
    name=${pair%%:*}
    pw=${pair#*:}
    ext=${name#agent}
    echo ""
    echo "[$name](agent-webrtc)"
    echo "auth = $name"
    echo "aors = $name"
    echo "callerid = \"Agent $ext\" <$ext>"
    echo ""
    echo "[$name](agent-aor)"
    echo ""
    echo "[$name]"
    echo "type = auth"
    echo "auth_type = userpass"
    echo "username = $name"
    echo "password = $pw"
  done
} | write_gen agents.conf
[ -n "$AGENT_SIP_PASSWORDS" ] || warn "AGENT_SIP_PASSWORDS is not set: no agent softphone can register"

AGENT_MEDIA_ADDRESS=${AGENT_MEDIA_ADDRESS:-}
[ -z "$AGENT_MEDIA_ADDRESS" ] || check_ipv4 AGENT_MEDIA_ADDRESS "$AGENT_MEDIA_ADDRESS"
{
  header
  [ -z "$AGENT_MEDIA_ADDRESS" ] || echo "media_address = $AGENT_MEDIA_ADDRESS"
} | write_gen agent-media.conf

RTP_ICE_PERMIT=${RTP_ICE_PERMIT:-}
[ -z "$RTP_ICE_PERMIT" ] || check_ipv4_list RTP_ICE_PERMIT "$RTP_ICE_PERMIT"
RTP_PORT_START=${RTP_PORT_START:-}
RTP_PORT_END=${RTP_PORT_END:-}
[ -z "$RTP_PORT_START" ] || check_port RTP_PORT_START "$RTP_PORT_START"
[ -z "$RTP_PORT_END" ] || check_port RTP_PORT_END "$RTP_PORT_END"
if [ -n "$RTP_PORT_START$RTP_PORT_END" ]; then
  [ -n "$RTP_PORT_START" ] && [ -n "$RTP_PORT_END" ] && [ "$RTP_PORT_START" -lt "$RTP_PORT_END" ] \
    || die "RTP_PORT_START and RTP_PORT_END go together, START below END (got '$RTP_PORT_START'-'$RTP_PORT_END')"
fi
{
  header
  if [ -n "$RTP_PORT_START" ]; then echo "rtpstart = $RTP_PORT_START"; echo "rtpend = $RTP_PORT_END"; fi
  if [ -n "$RTP_ICE_PERMIT" ]; then
    echo "ice_deny = 0.0.0.0/0"
    for net in $(printf '%s' "$RTP_ICE_PERMIT" | tr ',' ' '); do echo "ice_permit = $net"; done
  fi
} | write_gen rtp-ice.conf

# --------------------------------------------------------------- ownership
if id asterisk >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  chown -R asterisk:asterisk "$GEN"
  for d in /var/spool/asterisk/recording /var/lib/asterisk /var/log/asterisk /var/run/asterisk; do
    [ -d "$d" ] && chown asterisk:asterisk "$d" || true
  done
fi

echo "docker-entrypoint: configuration rendered into $ASTERISK_ETC (HOTLINE_ENV=$HOTLINE_ENV)" >&2

if [ "${1:-}" = "--render-only" ]; then
  exit 0
fi
if [ "$#" -gt 0 ]; then
  exec "$@"
fi
if id asterisk >/dev/null 2>&1; then
  exec asterisk -f -n -T -U asterisk -G asterisk
fi
exec asterisk -f -n -T
