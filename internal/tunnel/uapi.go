//go:build !router

package tunnel

// The WireGuard cross-platform configuration protocol ("UAPI",
// https://www.wireguard.com/xplatform/), which wireguard-go's IpcSet and
// IpcGet speak: key=value lines, keys in hex, a peer's lines after its
// public_key line.

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// uapiCreate configures a new device: key, port (0: wireguard-go picks
// one when it opens its sockets), Mark and no peers.
func uapiCreate(private Key, listenPort int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "private_key=%s\n", hex.EncodeToString(private[:]))
	if listenPort != 0 {
		fmt.Fprintf(&b, "listen_port=%d\n", listenPort)
	}
	fmt.Fprintf(&b, "fwmark=%d\n", Mark)
	b.WriteString("replace_peers=true\n")
	return b.String()
}

// uapiPeer makes p the device's peer with every address allowed; replace
// drops the other peers first (and with them the session of the old one).
func uapiPeer(p Peer, keepalive uint16, replace bool) string {
	var b strings.Builder
	if replace {
		b.WriteString("replace_peers=true\n")
	}
	fmt.Fprintf(&b, "public_key=%s\n", hex.EncodeToString(p.PublicKey[:]))
	if p.Endpoint.IsValid() {
		fmt.Fprintf(&b, "endpoint=%s\n", endpointAddr(p.Endpoint))
	}
	fmt.Fprintf(&b, "persistent_keepalive_interval=%d\n", keepalive)
	b.WriteString("replace_allowed_ips=true\nallowed_ip=0.0.0.0/0\nallowed_ip=::/0\n")
	return b.String()
}

// parseUAPI reads the answer of a get operation. Keys we do not use are
// skipped, so a newer wireguard-go's additions do not break us; values of
// the keys we use must be well formed.
func parseUAPI(text string) (wgState, error) {
	var st wgState
	var peer *Stats
	var sec, nsec int64
	endPeer := func() error {
		if peer == nil {
			return nil
		}
		if nsec < 0 || nsec >= int64(time.Second) || sec < 0 {
			return fmt.Errorf("last handshake %d s %d ns", sec, nsec)
		}
		if sec != 0 || nsec != 0 {
			peer.LastHandshake = time.Unix(sec, nsec)
		}
		st.peers = append(st.peers, *peer)
		peer, sec, nsec = nil, 0, 0
		return nil
	}
	for line := range strings.SplitSeq(text, "\n") {
		if line == "" {
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			return wgState{}, fmt.Errorf("uapi: line %q without '='", line)
		}
		var err error
		switch key {
		case "errno":
			// The socket protocol's last line; IpcGet leaves it out.
			if value != "0" {
				return wgState{}, fmt.Errorf("uapi: errno=%s", value)
			}
		case "listen_port":
			var port uint64
			port, err = strconv.ParseUint(value, 10, 16)
			st.listenPort = int(port)
		case "fwmark":
			var mark uint64
			mark, err = strconv.ParseUint(value, 10, 32)
			st.fwmark = uint32(mark)
		case "public_key":
			if err = endPeer(); err != nil {
				break
			}
			peer = new(Stats)
			err = parseHexKey(&peer.PublicKey, value)
		default:
			if peer == nil {
				continue // a device key we do not use
			}
			switch key {
			case "endpoint":
				peer.Endpoint, err = netip.ParseAddrPort(value)
			case "last_handshake_time_sec":
				sec, err = strconv.ParseInt(value, 10, 64)
			case "last_handshake_time_nsec":
				nsec, err = strconv.ParseInt(value, 10, 64)
			case "rx_bytes":
				peer.RxBytes, err = strconv.ParseUint(value, 10, 64)
			case "tx_bytes":
				peer.TxBytes, err = strconv.ParseUint(value, 10, 64)
			}
		}
		if err != nil {
			return wgState{}, fmt.Errorf("uapi: %s: %w", key, err)
		}
	}
	if err := endPeer(); err != nil {
		return wgState{}, fmt.Errorf("uapi: %w", err)
	}
	return st, nil
}

func parseHexKey(k *Key, s string) error {
	if len(s) != 2*len(k) {
		return errors.New("key is not 64 hex digits")
	}
	_, err := hex.Decode(k[:], []byte(s))
	return err
}
