package wifi

import "fmt"

// Kind is how an interface carries links. The zero value, Wired, covers
// every interface nl80211 does not list.
type Kind uint8

const (
	Wired     Kind = iota // not wireless
	AdHoc                 // IBSS
	MeshPoint             // 802.11s
	Station               // associated to an access point
	AP                    // access point (its per-station AP_VLAN interfaces too)
	Other                 // monitor, WDS, P2P, OCB...: no station metrics read
)

// kindNames are OpenWrt's wifi-iface "mode" words where one exists, so LuCI
// and logs use the names people type into UCI. Keep them stable: ctl's JSON
// carries them.
var kindNames = [...]string{
	Wired:     "wired",
	AdHoc:     "adhoc",
	MeshPoint: "mesh",
	Station:   "sta",
	AP:        "ap",
	Other:     "other",
}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// MarshalText makes Kind a string in JSON.
func (k Kind) MarshalText() ([]byte, error) {
	if int(k) >= len(kindNames) {
		return nil, fmt.Errorf("wifi: unknown kind %d", uint8(k))
	}
	return []byte(kindNames[k]), nil
}

// UnmarshalText reads the names MarshalText writes.
func (k *Kind) UnmarshalText(b []byte) error {
	for i, name := range kindNames {
		if string(b) == name {
			*k = Kind(i)
			return nil
		}
	}
	return fmt.Errorf("wifi: unknown kind %q", b)
}

// kindOf maps nl80211's interface type.
func kindOf(t InterfaceType) Kind {
	switch t {
	case InterfaceTypeAdHoc:
		return AdHoc
	case InterfaceTypeMeshPoint:
		return MeshPoint
	case InterfaceTypeStation:
		return Station
	case InterfaceTypeAP, InterfaceTypeAPVLAN:
		return AP
	}
	return Other
}

// hasStations reports whether ntkd reads station metrics on such an interface.
func (k Kind) hasStations() bool {
	return k == AdHoc || k == MeshPoint || k == Station || k == AP
}
