package config

import (
	"fmt"
	"strings"
	"time"
)

// Summary describes the configuration in a few lines, for `ntkd
// check-config` to print when the file is good.
func (c *Config) Summary() string {
	var b strings.Builder
	line := func(label, format string, args ...any) {
		fmt.Fprintf(&b, "%-11s %s\n", label+":", fmt.Sprintf(format, args...))
	}

	if len(c.Interfaces) == 0 {
		line("interfaces", "none (the daemon will not start until one is configured)")
	} else {
		names := make([]string, len(c.Interfaces))
		for i, in := range c.Interfaces {
			names[i] = in.Name
			if !in.WifiMetrics {
				names[i] += " (no wifi metrics)"
			}
		}
		line("interfaces", "%s", strings.Join(names, ", "))
	}

	if s, err := c.Scheme(); err != nil {
		line("address", "%v (invalid: %v)", c.Address.Prefix, err)
	} else {
		bits := make([]string, s.Levels())
		for l := range bits {
			bits[l] = fmt.Sprint(s.Bits(l))
		}
		line("address", "%v, %d levels of %s bits (level 0 first)", s.Prefix(), s.Levels(), strings.Join(bits, "/"))
	}
	line("ports", "radar %d/udp, stream %d/tcp, andna %d/udp+tcp", c.Ports.Radar, c.Ports.Stream, c.Ports.ANDNA)
	line("radar", "hello every %s, %d-probe burst for new neighbours, timeout %s, rnode dead after %d unanswered probes",
		shortDuration(c.Radar.Interval), c.Radar.Probes, shortDuration(c.Radar.ProbeTimeout), c.Radar.DeadAfter)
	line("qspn", "round %s, %d routes per destination, aged out after %d rounds",
		shortDuration(c.QSPN.WaitRound), c.QSPN.MaxRoutes, c.QSPN.MaxAgeRounds)
	if c.Kernel.UsesRule() {
		line("kernel", "table %v (ip rule priority %d), proto %d", c.Kernel.Table, c.Kernel.RulePriority, c.Kernel.Protocol)
	} else {
		line("kernel", "table main, proto %d", c.Kernel.Protocol)
	}
	if c.ANDNA.Enabled {
		names := "no names"
		if len(c.ANDNA.Names) > 0 {
			names = "names " + strings.Join(c.ANDNA.Names, ", ")
		}
		line("andna", "on, records live %s, updates every %s at most, %s",
			shortDuration(c.ANDNA.Hibernation), shortDuration(c.ANDNA.MinUpdateInterval), names)
	} else {
		line("andna", "off")
	}
	if c.DNS.Enabled {
		up := "other names refused"
		if c.DNS.Upstream != "" {
			up = "other names to " + c.DNS.Upstream
		}
		line("dns", "on %s, .%s names, %s", c.DNS.Listen, c.DNS.Suffix, up)
	} else {
		line("dns", "off")
	}
	if c.VLayer.Enabled {
		line("vlayer", "on, %d links set by hand, key %s", len(c.VLayer.Links), c.VLayer.KeyFile)
	} else {
		line("vlayer", "off")
	}
	limit := "Go default"
	if c.MemoryLimit > 0 {
		limit = c.MemoryLimit.String()
	}
	gogc := fmt.Sprint(c.GOGC)
	if c.GOGC == -1 {
		gogc = "off"
	}
	procs := "one per CPU"
	if c.MaxProcs > 0 {
		procs = fmt.Sprint(c.MaxProcs)
	}
	line("memory", "limit %s, gogc %s, max_procs %s", limit, gogc, procs)
	switch m := c.Mesh; {
	case m.NetworkKey == "":
		line("mesh", "open (no network key)")
	case m.NetworkKeyAccept == "":
		line("mesh", "closed: network key %s", keySource(m.NetworkKey))
	default:
		line("mesh", "closed: network key %s, also accepted %s (a key change)", keySource(m.NetworkKey), keySource(m.NetworkKeyAccept))
	}
	line("control", "%s", c.Control.Socket)
	line("log", "%s", strings.ToLower(c.LogLevel.String()))
	return b.String()
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// shortDuration drops the zero tails time.Duration.String leaves: "72h"
// rather than "72h0m0s", "1m" rather than "1m0s".
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// keySource says where a network key is without showing it.
func keySource(k string) string {
	if strings.HasPrefix(k, "/") {
		return "from " + k
	}
	return "(inline)"
}
