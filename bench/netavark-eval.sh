#!/bin/bash
# The evaluation behind den's user networks (issue 15): podman's netavark and
# aardvark-dns as a dependency, against den's own netlink (`ip -batch` as its
# proxy) and dnsmasq for names, in one network namespace per user that a
# process holds (podman's rootless-netns), as root and rootless.
#
# It checks what works (two "containers", `unshare -n` sleepers, ping each other
# by IP and find each other by name and alias through aardvark-dns; a third on
# another network, isolated or not; outbound through slirp4netns; a published
# port through slirp4netns's API and netavark's DNAT), then times (medians of
# ROUNDS) each step, and `den run --rm busybox true` as the budget.  Everything
# it makes lives in namespaces and a directory of its own: killing the holder
# (pid 1 of its own pid namespace) ends aardvark-dns and dnsmasq with it.
#
# Usage (as root: root, then rootless as $EVAL_USER, default dentest):
#   bench/netavark-eval.sh [BUILD_DIR] [ROUNDS]
# Needs: apt-get install netavark aardvark-dns dnsmasq-base slirp4netns busybox-static
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$top/build}" 2>/dev/null && pwd || true)
rounds=${2:-20}
NV=/usr/lib/podman/netavark
AV=/usr/lib/podman/aardvark-dns
BB=/bin/busybox

for f in $NV $AV /usr/sbin/dnsmasq /usr/bin/slirp4netns $BB; do
	[ -x "$f" ] || { echo "missing $f: apt-get install netavark aardvark-dns dnsmasq-base slirp4netns busybox-static" >&2; exit 2; }
done

if [ "$(id -u)" = 0 ] && [ -z "${EVAL_INNER:-}" ]; then
	user=${EVAL_USER:-dentest}
	copy=$(mktemp -d /tmp/den-neteval-bin.XXXXXX)
	cp "$0" "$copy/"
	[ -n "$build" ] && [ -x "$build/den" ] && cp "$build/den" "$copy/" && { [ -x "$build/den-keeper" ] && cp "$build/den-keeper" "$copy/" || true; }
	chmod -R a+rX "$copy"
	EVAL_INNER=1 bash "$copy/netavark-eval.sh" "$copy" "$rounds"
	rc1=$?
	if id "$user" >/dev/null 2>&1; then
		runuser -u "$user" -- env -u XDG_RUNTIME_DIR EVAL_INNER=1 HOME=/tmp bash "$copy/netavark-eval.sh" "$copy" "$rounds"
		rc2=$?
	else
		echo "no user $user: rootless part skipped"; rc2=0
	fi
	rm -rf "$copy"
	exit $((rc1 | rc2))
fi

mode=root
[ "$(id -u)" = 0 ] || mode=rootless
work=$(mktemp -d /tmp/den-neteval.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
	# the holders first (their pid namespaces take aardvark-dns and dnsmasq along), then the rest
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fails=0
check() { # NAME CMD...: run, say ok/FAIL
	local name=$1; shift
	if "$@" >"$work/check.out" 2>&1; then
		echo "  ok    $name"
	else
		echo "  FAIL  $name: $(tr '\n' ' ' <"$work/check.out" | cut -c1-300)"
		fails=$((fails + 1))
	fi
}
now() { local t=${EPOCHREALTIME/./}; echo "${t#0}"; } # microseconds
rec() { echo "$(( ($3 - $2) ))" >>"$work/t.$1"; }       # NAME T0 T1 (us)
median() { sort -n "$work/t.$1" | awk '{a[NR]=$1} END {if (NR) printf "%.2f", (NR % 2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2) / 1000; else printf "-"}'; }

# ---- namespaces ----
# holder: pid 1 of new user (rootless), net, mount and pid namespaces; its host pid is echoed
U=()
[ $mode = rootless ] && U=(--user --map-root-user)
NS_U=()
[ $mode = rootless ] && NS_U=(-U --preserve-credentials)
start_holder() { # -> HOLDER (the sleeper's host pid), HOLDER_U (unshare's)
	unshare "${U[@]}" --net --mount --pid --fork --kill-child sleep infinity </dev/null >/dev/null 2>&1 &
	local u=$! h=""
	pids+=("$u")
	while [ -z "$h" ]; do h=$(cat /proc/$u/task/$u/children 2>/dev/null); done
	h=${h% }
	# unshare maps the ids in its child, after the fork: ready once the child is sleep
	while [ "$(cat /proc/$h/comm 2>/dev/null)" != sleep ]; do :; done
	HOLDER=$h HOLDER_U=$u
}
# run in the holder's user, net and mount namespaces (and pid: what netavark starts stays inside)
inH() { local h=$1; shift; nsenter -t "$h" "${NS_U[@]}" -n -m "$@"; }
inHp() { local h=$1; shift; nsenter -t "$h" "${NS_U[@]}" -n -m -p "$@"; }
# a "container": a sleeper in a network namespace of its own; rootless its user namespace is
# nested in the holder's (a sibling's network namespace is out of the holder's reach: see the notes)
start_ctr() { # HOLDER -> CTR (host pid)
	local h=$1 c=""
	if [ $mode = rootless ]; then
		nsenter -t "$h" -U --preserve-credentials unshare --user --map-root-user --net sleep infinity </dev/null >/dev/null 2>&1 &
	else
		unshare --net sleep infinity </dev/null >/dev/null 2>&1 &
	fi
	c=$!
	pids+=("$c")
	# wait for the new namespace (the sleeper's net ns differs from ours once unshare has run)
	while [ "$(readlink /proc/$c/ns/net 2>/dev/null)" = "$(readlink /proc/self/ns/net)" ] ||
		[ -z "$(readlink /proc/$c/ns/net 2>/dev/null)" ] || [ "$(cat /proc/$c/comm 2>/dev/null)" != sleep ]; do :; done
	CTR=$c
}
stop_pid() { kill -9 "$1" 2>/dev/null; wait "$1" 2>/dev/null; }
inC() { local c=$1; shift; nsenter -t "$c" "${NS_U[@]}" -n "$@"; }

hex() { printf "%064x" "$1"; }
# the network as netavark 1.4 takes it (podman's types: network_info.NAME), options.isolate keeps
# its containers from other networks' (NETAVARK_ISOLATION_1/2 chains)
network_json() { # NAME IDX BRIDGE SUBNET GATEWAY INTERNAL
	printf '{"name":"%s","id":"%s","driver":"bridge","network_interface":"%s","subnets":[{"subnet":"%s","gateway":"%s"}],"ipv6_enabled":false,"internal":%s,"dns_enabled":true,"options":{"isolate":"true"},"ipam_options":{"driver":"host-local"}}' \
		"$1" "$(hex "$2")" "$3" "$4" "$5" "$6"
}
# what netavark setup/teardown read on stdin: one container on one network
ctr_json() { # CTR_NAME CTR_IDX NETNAME NETJSON IP ALIAS PORTS_JSON
	printf '{"container_id":"%s","container_name":"%s","port_mappings":%s,"networks":{"%s":{"interface_name":"eth0","static_ips":["%s"],"aliases":["%s"]}},"network_info":{"%s":%s}}\n' \
		"$(hex "$2")" "$1" "$7" "$3" "$5" "$6" "$3" "$4"
}
nv() { # HOLDER setup|teardown CTRPID JSON
	local h=$1 what=$2 c=$3
	echo "$4" | inHp "$h" $NV --config "$work/nv" -a $AV "$what" /proc/$c/ns/net >>"$work/nv.log" 2>&1
}
lookup() { # CTR NAME SERVER: the A record's address, or nothing
	inC "$1" $BB nslookup -type=a -timeout=2 -retry=1 "$2" "$3" 2>/dev/null | awk '/^Name:/{n=1} n && /^Address:/{print $2; exit}'
}
dns_ready() { # CTR NAME SERVER: ask until answered (a server that is up answers at once, also "no")
	inC "$1" timeout 10 $BB sh -c "until $BB nslookup -type=a -timeout=1 -retry=1 $2 $3 >/dev/null 2>&1; do :; done"
}
dns_listen() { # HOLDER IP: until something listens on IP:53/udp (a refused query costs nslookup its whole timeout)
	inH "$1" timeout 10 sh -c "until ss -Hlun src $2:53 | grep -q .; do :; done"
}
# the checks
aardvark_answers() { timeout 5 bash -c "$(declare -f inH dns_listen); NS_U=(${NS_U[*]}); dns_listen $H 10.89.1.1" && [ "$(lookup "$C1" c1 10.89.1.1)" = 10.89.1.2 ]; }
resolves() { [ "$(lookup "$1" "$2" "$3")" = "$4" ]; } # CTR NAME SERVER IP
not_resolves() { [ -z "$(lookup "$1" "$2" "$3")" ]; }
no_ping() { ! inC "$1" $BB ping -c1 -W1 "$2"; }
ping_name() { local ip; ip=$(lookup "$1" "$2" "$3") && [ -n "$ip" ] && inC "$1" $BB ping -c1 -W2 "$ip"; }
forwarded() { # an answer from upstream (NXDOMAIN counts: this host's resolver knows no names), not a timeout
	local out; out=$(inC "$1" $BB nslookup -type=a -timeout=3 -retry=1 debian.org "$2" 2>&1)
	echo "$out"; echo "$out" | grep -Eq 'NXDOMAIN|^Address: [0-9.]+$' && ! echo "$out" | grep -q 'timed out'
}
outbound() { inC "$1" timeout 3 $BB nc "$2" 19090 </dev/null | grep -q from-host; }
published() { timeout 5 $BB wget -q -O- http://127.0.0.1:18080/ | grep -q from-c1; }
nothing_left() { local l; l=$(inH "$1" ip -o link show | grep -v -e ': lo:' -e ': tap0'); echo "$l"; [ -z "$l" ]; }
no_aardvark() { ! pgrep -f -- "--config $work/nv/aardvark-dns"; }
no_rules() { ! inH "$1" iptables-save | grep -- '-A NETAVARK-[0-9A-F]'; }

mkdir -p "$work/nv"
echo "== netavark $($NV version | sed -n 's/.*"version": "\(.*\)".*/\1/p' | head -1), aardvark-dns, as $mode ($(id -un)) =="

# ---- 1. does it work ----
echo "-- function (one holder, networks n1 10.89.1.0/24 and n2 10.89.2.0/24) --"
start_holder; H=$HOLDER
inH "$H" ip link set lo up
# upstream for aardvark-dns: the holder's own /etc/resolv.conf (its mount namespace), slirp's resolver
echo "nameserver 10.0.2.3" >"$work/resolv.conf"
inH "$H" mount --bind "$work/resolv.conf" /etc/resolv.conf
slirp4netns --configure --mtu=65520 --disable-host-loopback --api-socket "$work/slirp.sock" --netns-type=path \
	$([ $mode = rootless ] && echo --userns-path=/proc/$H/ns/user) /proc/$H/ns/net tap0 >"$work/slirp.log" 2>&1 &
S=$!
pids+=("$S")
until [ -S "$work/slirp.sock" ]; do sleep 0.01; done
N1=$(network_json n1 1 denbr1 10.89.1.0/24 10.89.1.1 false)
N2=$(network_json n2 2 denbr2 10.89.2.0/24 10.89.2.1 false)
start_ctr "$H"; C1=$CTR; start_ctr "$H"; C2=$CTR; start_ctr "$H"; C3=$CTR
PM='[{"host_ip":"","container_port":80,"host_port":18080,"range":1,"protocol":"tcp"}]'
J1=$(ctr_json c1 1 n1 "$N1" 10.89.1.2 web "$PM")
J2=$(ctr_json c2 2 n1 "$N1" 10.89.1.3 db null)
J3=$(ctr_json c3 3 n2 "$N2" 10.89.2.2 other null)
cp /dev/null "$work/nv.log"
check "netavark setup c1 (n1, alias web, -p 18080:80)" nv "$H" setup "$C1" "$J1"
check "netavark setup c2 (n1, alias db)" nv "$H" setup "$C2" "$J2"
check "netavark setup c3 (n2, alias other)" nv "$H" setup "$C3" "$J3"
echo "  netavark's answer for c1: $(grep -m1 '^{' "$work/nv.log")"
check "aardvark-dns answers (listening soon after netavark returned: it does not wait for it)" aardvark_answers
check "c1 pings c2 by IP" inC "$C1" $BB ping -c1 -W2 10.89.1.3
check "c1 resolves c2 (container name)" resolves "$C1" c2 10.89.1.1 10.89.1.3
check "c2 resolves web (c1's alias)" resolves "$C2" web 10.89.1.1 10.89.1.2
check "c2 pings c1 by its alias" ping_name "$C2" web 10.89.1.1
check "c1 does not resolve c3 (other network)" not_resolves "$C1" c3 10.89.1.1
check "c1 cannot ping c3 (isolate)" no_ping "$C1" 10.89.2.2
check "c3 cannot ping c1 (isolate)" no_ping "$C3" 10.89.1.2
check "c3 resolves other on n2's resolver" resolves "$C3" other 10.89.2.1 10.89.2.2
check "an outside name forwarded (upstream answers, even NXDOMAIN)" forwarded "$C1" 10.89.1.1
host_ip=$(ip -4 -o addr show scope global | awk '{print $4}' | cut -d/ -f1 | head -1)
(echo from-host | timeout 5 $BB nc -l -p 19090 >/dev/null 2>&1) &
pids+=("$!")
sleep 0.1
check "outbound: c1 -> host $host_ip:19090 through slirp4netns" outbound "$C1" "$host_ip"
mkdir -p "$work/www" && echo from-c1 >"$work/www/index.html" && chmod -R a+rX "$work/www"
nsenter -t "$C1" "${NS_U[@]}" -n $BB httpd -f -p 80 -h "$work/www" &
HT=$!
pids+=("$HT")
python3 - "$work/slirp.sock" >"$work/slirp.api" 2>&1 <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(b'{"execute":"add_hostfwd","arguments":{"proto":"tcp","host_addr":"127.0.0.1","host_port":18080,"guest_port":18080}}')
s.shutdown(socket.SHUT_WR); print(s.recv(999).decode())
EOF
check "-p: host 127.0.0.1:18080 -> slirp -> holder 10.0.2.100:18080 -> netavark DNAT -> c1:80" published
stop_pid "$HT"
check "netavark teardown c2" nv "$H" teardown "$C2" "$J2"
check "c2's name gone from aardvark-dns" not_resolves "$C1" c2 10.89.1.1
check "netavark teardown c1 (last on n1: bridge gone)" nv "$H" teardown "$C1" "$J1"
check "netavark teardown c3 (last)" nv "$H" teardown "$C3" "$J3"
check "no bridge or veth left in the holder" nothing_left "$H"
sleep 0.2
check "aardvark-dns gone after the last teardown" no_aardvark
check "netavark's firewall rules gone" no_rules "$H"
if [ $mode = rootless ]; then
	# a container whose user namespace is the holder's sibling (made from the host, as den makes them
	# today): no process in the holder has CAP_NET_ADMIN over its network namespace
	unshare --user --map-root-user --net sleep infinity </dev/null >/dev/null 2>&1 &
	C4=$!
	pids+=("$C4")
	while [ "$(cat /proc/$C4/comm 2>/dev/null)" != sleep ]; do :; done
	J4=$(ctr_json c4 4 n1 "$N1" 10.89.1.4 sib null)
	sibling_refused() { ! nv "$H" setup "$C4" "$J4" && tail -1 "$work/nv.log"; }
	check "netavark refused on a sibling user namespace's netns (EPERM): nest the container's" sibling_refused
	echo "    its error: $(tail -1 "$work/nv.log")"
	nv "$H" teardown "$C4" "$J4"
	stop_pid "$C4"
fi
for c in $C1 $C2 $C3; do stop_pid "$c"; done
stop_pid "$S"

# ---- 1b. the recommended design, by hand: containers in the holder's own user namespace,
# static rules made once, dnsmasq per network ----
echo "-- den's design by hand (one user namespace for the holder and its containers, static rules, dnsmasq) --"
start_shared() { # HOLDER -> CTR: a sleeper whose network namespace the holder's user namespace owns
	local h=$1 c
	if [ $mode = rootless ]; then
		nsenter -t "$h" -U --preserve-credentials unshare --net sleep infinity </dev/null >/dev/null 2>&1 &
	else
		unshare --net sleep infinity </dev/null >/dev/null 2>&1 &
	fi
	c=$!
	pids+=("$c")
	while [ "$(cat /proc/$c/comm 2>/dev/null)" != sleep ] || [ "$(readlink /proc/$c/ns/net)" = "$(readlink /proc/$h/ns/net)" ]; do :; done
	CTR=$c
}
# once per holder: bridged frames are not filtered (br_netfilter, when the host has it, would send them
# through FORWARD: turned off in this namespace, and accepted by physdev where it cannot be), routed
# ones between two bridges are dropped; internal networks' bridges (deni*) have no way out
static_rules() {
	[ -e /proc/sys/net/bridge/bridge-nf-call-iptables ] && inH "$H" sh -c 'echo 0 > /proc/sys/net/bridge/bridge-nf-call-iptables'
	inH "$H" sh -c 'echo 1 > /proc/sys/net/ipv4/ip_forward' &&
	printf '*filter\n-A FORWARD -m physdev --physdev-is-bridged -j ACCEPT\n-A FORWARD -i denbr+ -o denbr+ -j DROP\n-A FORWARD -i deni+ -j DROP\n-A FORWARD -o deni+ -j DROP\nCOMMIT\n*nat\n-A POSTROUTING -s 10.89.0.0/16 -o tap0 -j MASQUERADE\nCOMMIT\n' |
		inH "$H" iptables-restore --noflush
}
attach() { # CTR NET(1|2) ADDR NAMES...: veth, address, route, hosts file
	local c=$1 n=$2 a=$3; shift 3
	printf 'link add dh%s type veth peer name eth0 netns %s\nlink set dh%s master denbr%s up\n' "$c" "$c" "$c" "$n" | inH "$H" ip -batch - &&
	printf 'addr add 10.89.%s.%s/24 dev eth0\nlink set eth0 up\nlink set lo up\nroute add default via 10.89.%s.1\n' "$n" "$a" "$n" | inC "$c" ip -batch - &&
	echo "10.89.$n.$a $*" >"$work/d$n/hosts/$c"
}
shared_userns() { [ "$(readlink /proc/$1/ns/user)" = "$(readlink /proc/$H/ns/user)" ]; }
check "static rules loaded once (iptables-restore)" static_rules
for n in 1 2; do
	mkdir -p "$work/d$n/hosts"
	printf 'link add denbr%s type bridge\naddr add 10.89.%s.1/24 dev denbr%s\nlink set denbr%s up\n' $n $n $n $n | inH "$H" ip -batch -
	nsenter -t "$H" "${NS_U[@]}" -n -m /usr/sbin/dnsmasq --keep-in-foreground --conf-file=/dev/null --no-hosts --hostsdir="$work/d$n/hosts" \
		--listen-address=10.89.$n.1 --bind-interfaces --port=53 --user=root --group= --pid-file= --no-resolv 2>>"$work/dnsmasq.log" &
	pids+=("$!")
done
start_shared "$H"; A=$CTR; start_shared "$H"; B=$CTR; start_shared "$H"; C=$CTR
[ $mode = rootless ] && check "the containers are in the holder's user namespace" shared_userns "$A"
check "attach A to n1 (web, alias www)" attach "$A" 1 2 web www
check "attach B to n1 (db)" attach "$B" 1 3 db
check "attach C to n2 (other)" attach "$C" 2 2 other
dns_listen "$H" 10.89.1.1; dns_listen "$H" 10.89.2.1
check "A pings B (same network, bridged)" inC "$A" $BB ping -c1 -W2 10.89.1.3
check "B resolves www (A's alias) through n1's dnsmasq" resolves "$B" www 10.89.1.1 10.89.1.2
check "A does not resolve other (n2's)" not_resolves "$A" other 10.89.1.1
check "A cannot ping C (routed between bridges: dropped)" no_ping "$A" 10.89.2.2
check "C cannot ping A" no_ping "$C" 10.89.1.2
stop_pid "$B"; rm -f "$work/d1/hosts/$B"
veth_gone() { inH "$H" timeout 5 sh -c "while ip link show dh$B >/dev/null 2>&1; do :; done"; }
check "B's end: its veth gone with its namespace, no call" veth_gone
sleep 0.1
check "B's name gone (hosts file removed, inotify)" not_resolves "$A" db 10.89.1.1
stop_pid "$A"; stop_pid "$C"
for p in "${pids[@]}"; do [ "$(cat /proc/$p/comm 2>/dev/null)" = dnsmasq ] && stop_pid "$p"; done
inH "$H" ip -batch - <<<$'link del denbr1\nlink del denbr2'
inH "$H" iptables-restore <<<$'*filter\nCOMMIT\n*nat\nCOMMIT'

# ---- 2. timings ----
echo "-- timings (median of $rounds, ms) --"
N1=$(network_json n1 1 denbr1 10.89.1.0/24 10.89.1.1 false)
for i in $(seq "$rounds"); do
	start_ctr "$H"; C1=$CTR; start_ctr "$H"; C2=$CTR
	J1=$(ctr_json c1 1 n1 "$N1" 10.89.1.2 web null); J2=$(ctr_json c2 2 n1 "$N1" 10.89.1.3 db null)
	t0=$(now); nv "$H" setup "$C1" "$J1"; t1=$(now)
	dns_listen "$H" 10.89.1.1; dns_ready "$C1" c1 10.89.1.1; t2=$(now)
	nv "$H" setup "$C2" "$J2"; t3=$(now)
	nv "$H" teardown "$C2" "$J2"; t4=$(now)
	nv "$H" teardown "$C1" "$J1"; t5=$(now)
	rec nv_first "$t0" "$t1"; rec nv_dnswait "$t1" "$t2"; rec nv_next "$t2" "$t3"; rec nv_td "$t3" "$t4"; rec nv_tdlast "$t4" "$t5"
	stop_pid "$C1"; stop_pid "$C2"
	# by hand: a bridge and a veth with `ip -batch` (one process, netlink, as den's own code would be)
	# plus the network's MASQUERADE rule (iptables-restore), dnsmasq from a hosts directory
	start_ctr "$H"; C1=$CTR; start_ctr "$H"; C2=$CTR
	# aardvark-dns ends on its own a little after the last teardown: not measured beside it
	while pgrep -f -- "--config $work/nv/aardvark-dns" >/dev/null; do sleep 0.005; done
	mkdir -p "$work/dm/hosts"
	echo "10.89.5.2 c1 web" >"$work/dm/hosts/c1"
	t0=$(now)
	printf 'link add denbr5 type bridge\naddr add 10.89.5.1/24 dev denbr5\nlink set denbr5 up\n' | inH "$H" ip -batch -
	printf '*nat\n:DEN-N5 - [0:0]\n-A POSTROUTING -s 10.89.5.0/24 -j DEN-N5\n-A DEN-N5 -d 10.89.5.0/24 -j ACCEPT\n-A DEN-N5 ! -d 224.0.0.0/4 -j MASQUERADE\nCOMMIT\n' | inH "$H" iptables-restore --noflush
	t1=$(now)
	nsenter -t "$H" "${NS_U[@]}" -n -m /usr/sbin/dnsmasq --keep-in-foreground --conf-file=/dev/null --no-hosts --hostsdir="$work/dm/hosts" --listen-address=10.89.5.1 \
		--bind-interfaces --port=53 --user=root --group= --pid-file= --no-resolv --server=10.0.2.3 --log-facility=- 2>>"$work/dnsmasq.log" &
	dmp=$!
	t2=$(now)
	for c in 1:$C1 2:$C2; do
		printf 'link add dv%s type veth peer name eth0 netns %s\nlink set dv%s master denbr5 up\n' "${c%%:*}" "${c#*:}" "${c%%:*}" | inH "$H" ip -batch -
		printf 'addr add 10.89.5.%s/24 dev eth0\nlink set eth0 up\nlink set lo up\nroute add default via 10.89.5.1\n' "$((1 + ${c%%:*}))" | inC "${c#*:}" ip -batch -
		[ "${c%%:*}" = 1 ] && { t3=$(now); dns_listen "$H" 10.89.5.1; dns_ready "$C1" web 10.89.5.1; t4=$(now); }
	done
	t5=$(now)
	echo "10.89.5.3 c2 db" >"$work/dm/hosts/c2"
	dns_ready "$C1" db 10.89.5.1
	t6=$(now)
	# a container's end: its network namespace goes and its veth with it (the kernel's work, after the
	# last process); den only removes its hosts file
	stop_pid "$C2"
	rm -f "$work/dm/hosts/c2"
	t7=$(now)
	inH "$H" timeout 10 sh -c 'while ip link show dv2 >/dev/null 2>&1; do :; done'
	rec veth_gone "$t7" "$(now)"
	t7=$(now)
	inH "$H" ip -batch - <<<$'link del dv1\nlink del denbr5'
	inH "$H" iptables-restore --noflush <<<$'*nat\n-D POSTROUTING -s 10.89.5.0/24 -j DEN-N5\n-F DEN-N5\n-X DEN-N5\nCOMMIT'
	kill "$dmp"; wait "$dmp" 2>/dev/null
	t8=$(now)
	rec hand_bridge "$t0" "$t1"; rec hand_veth1 "$t2" "$t3"; rec dm_ready "$t2" "$t4"
	rec hand_veth2 "$t4" "$t5"; rec dm_newname "$t5" "$t6"; rec hand_td "$t6" "$t7"; rec hand_tdlast "$t7" "$t8"
	stop_pid "$C1"; stop_pid "$C2"
	rm -rf "$work/dm"
done
# aardvark-dns alone: from its start to its first answer, with a config written as netavark writes it
start_ctr "$H"; C1=$CTR
printf 'link add denbr9 type bridge\naddr add 10.89.9.1/24 dev denbr9\nlink set denbr9 up\nlink add dv9 type veth peer name eth0 netns %s\nlink set dv9 master denbr9 up\n' "$C1" | inH "$H" ip -batch -
printf 'addr add 10.89.9.2/24 dev eth0\nlink set eth0 up\nroute add default via 10.89.9.1\n' | inC "$C1" ip -batch -
mkdir -p "$work/av"
printf '10.89.9.1\n%s 10.89.9.2  c1,web\n' "$(hex 1)" >"$work/av/n9"
for i in $(seq "$rounds"); do
	t0=$(now)
	inHp "$H" $AV --config "$work/av" -p 53 run 2>/dev/null
	dns_listen "$H" 10.89.9.1
	dns_ready "$C1" web 10.89.9.1
	t1=$(now)
	rec av_ready "$t0" "$t1"
	# its pid file has its pid in the holder's pid namespace: found from here by its command line
	p=$(pgrep -f -- "--config $work/av -p"); [ -n "$p" ] && kill $p
	while pgrep -f -- "--config $work/av -p" >/dev/null; do :; done
	rm -f "$work/av/aardvark.pid"
	# dnsmasq alone, the same way, and what a spawned helper costs (nsenter + ip doing nothing)
	mkdir -p "$work/dh"
	echo "10.89.9.2 c1 web" >"$work/dh/c1"
	t0=$(now)
	nsenter -t "$H" "${NS_U[@]}" -n -m /usr/sbin/dnsmasq --keep-in-foreground --conf-file=/dev/null --no-hosts --hostsdir="$work/dh" \
		--listen-address=10.89.9.1 --bind-interfaces --port=53 --user=root --group= --pid-file= --no-resolv 2>/dev/null &
	dmp=$!
	dns_listen "$H" 10.89.9.1
	dns_ready "$C1" web 10.89.9.1
	t1=$(now)
	inH "$H" ip -batch - <<<'link show lo' >/dev/null
	t2=$(now)
	rec dm_alone "$t0" "$t1"; rec spawn "$t1" "$t2"
	kill "$dmp"; wait "$dmp" 2>/dev/null
done
stop_pid "$C1"
inH "$H" ip link del denbr9
# the per-user pieces, once per boot: holder namespaces and slirp4netns up
for i in $(seq "$rounds"); do
	t0=$(now); start_holder; h=$HOLDER; inH "$h" ip link set lo up; t1=$(now)
	rm -f "$work/s2.sock"
	slirp4netns --configure --mtu=65520 --disable-host-loopback --api-socket "$work/s2.sock" --netns-type=path \
		$([ $mode = rootless ] && echo --userns-path=/proc/$h/ns/user) /proc/$h/ns/net tap0 >"$work/s2.log" 2>&1 &
	s=$!
	until [ -S "$work/s2.sock" ]; do kill -0 $s 2>/dev/null || { cat "$work/s2.log"; break; }; done
	t2=$(now)
	rec holder "$t0" "$t1"; rec slirp "$t1" "$t2"
	stop_pid "$s"; stop_pid "$HOLDER_U"
done
# the budget: den run --rm busybox true
den_ms=-
if [ -n "$build" ] && [ -x "$build/den" ]; then
	mkdir -p "$work/rootfs/bin" "$work/rootfs/etc" "$work/rootfs/tmp" "$work/rootfs/proc" "$work/rootfs/dev" "$work/rootfs/sys"
	cp $BB "$work/rootfs/bin/busybox"
	for c in sh true; do ln -s busybox "$work/rootfs/bin/$c"; done
	tar -C "$work/rootfs" --owner=0 --group=0 -cf "$work/bb.tar" .
	D=("$build/den" --root "$work/store" --runroot "$work/run")
	if "${D[@]}" import "$work/bb.tar" busybox >/dev/null && "${D[@]}" run --rm busybox true; then
		for i in $(seq "$rounds"); do
			t0=$(now); "${D[@]}" run --rm busybox true; t1=$(now); rec den_run "$t0" "$t1"
		done
		den_ms=$(median den_run)
	else
		echo "  (den run failed: no budget measured)"
	fi
	"${D[@]}" rm -f $("${D[@]}" ps -a -q 2>/dev/null) >/dev/null 2>&1
	[ $mode = rootless ] && "${D[@]}" system reset -f >/dev/null 2>&1
fi
fmt() { printf "  %-58s %8s\n" "$1" "$2"; }
fmt "den run --rm busybox true (the budget's unit)" "$den_ms"
fmt "holder: unshare user+net+mount+pid, lo up (once per user)" "$(median holder)"
fmt "slirp4netns for the holder, to its API socket (once per user)" "$(median slirp)"
fmt "netavark setup, first container (bridge, fw, aardvark start)" "$(median nv_first)"
fmt "  then until aardvark-dns answers" "$(median nv_dnswait)"
fmt "netavark setup, next container (veth, fw check, dns entry)" "$(median nv_next)"
fmt "netavark teardown, not last" "$(median nv_td)"
fmt "netavark teardown, last (bridge, fw, aardvark stop)" "$(median nv_tdlast)"
fmt "aardvark-dns alone: start to first answer" "$(median av_ready)"
fmt "by hand: bridge + MASQUERADE (ip -batch, iptables-restore)" "$(median hand_bridge)"
fmt "by hand: veth into the first container (2 ip -batch)" "$(median hand_veth1)"
fmt "dnsmasq --hostsdir: start to first answer (beside the veth)" "$(median dm_ready)"
fmt "dnsmasq alone: start to first answer" "$(median dm_alone)"
fmt "one spawned helper: nsenter + ip -batch doing nothing" "$(median spawn)"
fmt "by hand: veth, next container" "$(median hand_veth2)"
fmt "dnsmasq: a new hosts file to its name answered (inotify)" "$(median dm_newname)"
fmt "by hand: a container's end (kill, rm its hosts file)" "$(median hand_td)"
fmt "  then until its veth is gone from the bridge (kernel)" "$(median veth_gone)"
fmt "by hand: teardown, last (bridge, rule, dnsmasq)" "$(median hand_tdlast)"
awk -v d="$den_ms" -v a="$(median nv_first)" -v b="$(median nv_dnswait)" -v c="$(median nv_tdlast)" \
	-v e="$(median hand_bridge)" -v f="$(median hand_veth1)" -v g="$(median dm_ready)" -v h="$(median hand_tdlast)" 'BEGIN {
	if (d == "-") exit
	nv = d + a + b + c; hd = d + e + f + (g > f ? g - f : 0) + h
	printf "  network create + first run + rm: netavark %.1f ms = %.2fx a den run; by hand + dnsmasq %.1f ms = %.2fx (target < 2x)\n", nv, nv / d, hd, hd / d
}'
[ -s "$work/dnsmasq.log" ] && grep -i -m3 -e fail -e error "$work/dnsmasq.log"
echo "  $fails check(s) failed"
[ "$fails" = 0 ]
