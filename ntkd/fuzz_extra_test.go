//go:build !router

package main

import (
	"os"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
	"github.com/ntkd/ntkd/internal/config"
	"github.com/ntkd/ntkd/internal/uci"
)

// FuzzUCIRender runs any UCI file through uci-render's translation. It
// must not panic; when it reports no error, the TOML it writes must be
// TOML (a value can never break out of its string or number), hold only
// the keys the translation writes, and what config.Parse refuses must be
// refused for a value, never for the syntax.
func FuzzUCIRender(f *testing.F) {
	f.Add([]byte(fullUCI), "mesh=wlan0-mesh")
	if b, err := os.ReadFile("../files/etc/config/ntkd"); err == nil {
		f.Add(b, "")
	}
	f.Add([]byte("config ntkd\n\toption gogc '+5'\n\tlist interface 'lan'\n"), "lan=br-lan")
	f.Add([]byte("config vlink 'a'\n\toption public_key 'x\"y'\n\toption endpoint '192.0.2.1:1'\n"), "")
	f.Add([]byte("config igs\n\toption share_internet 'on'\n\toption uplink 'wan'\n"), "wan=")
	f.Add([]byte("config ntkd\n\toption log_level '\xff'\n"), "")
	f.Add([]byte("config ntkd\n\toption gogc '007'\n"), "")
	allowed := map[string]bool{"interface": true, "interface.name": true, "interface.wifi_metrics": true, "vlayer.link": true}
	for _, o := range uciOpts {
		if o.key != "" {
			if o.sect == "vlink" {
				allowed["vlayer.link."+o.key] = true
			} else {
				allowed[o.key] = true
			}
		}
		for k := o.key; strings.Contains(k, "."); {
			k = k[:strings.LastIndexByte(k, '.')]
			allowed[k] = true
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, devs string) {
		file, err := uci.Parse("ntkd", data)
		if err != nil {
			return
		}
		r := &uciRender{f: file, devs: strings.Fields(devs)}
		r.walk()
		if r.errs.Len() > 0 {
			return
		}
		text := r.toml.String() + r.arrays.String()
		var v map[string]any
		md, err := toml.Decode(text, &v)
		if err != nil {
			t.Fatalf("uci-render wrote TOML that does not parse: %v\n%s", err, text)
		}
		for _, k := range md.Keys() {
			if !allowed[k.String()] {
				t.Fatalf("uci-render wrote key %q it does not translate\n%s", k, text)
			}
		}
		if _, err := config.Parse("ntkd.toml", []byte(text)); err != nil {
			if _, ok := err.(config.Errors); !ok {
				t.Fatalf("config.Parse: %T %v", err, err)
			}
		}
	})
}

// FuzzEntryServerConfig: any entry server configuration is checked
// without a panic; an accepted one has a listen address, a key file and
// distinct peer keys; a refused one says which file.
func FuzzEntryServerConfig(f *testing.F) {
	f.Add(entryConfigExample)
	f.Add("key_file = \"k\"\n[[peer]]\npublic_key = \"short\"\n")
	f.Add("key_file = \"k\"\nmirror = true\n[[peer]]\naddress = \"192.0.2.1:1\"\npublic_key = \"A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=\"\n")
	f.Add("key_file = \"k\"\nexpiry = \"soon\"\nmax_hops = 99\n")
	f.Fuzz(func(t *testing.T, text string) {
		s, err := parseEntryServerConfig("es.toml", text)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "es.toml") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if !s.listen.IsValid() || s.keyFile == "" {
			t.Fatalf("accepted %q: %+v", text, s)
		}
		seen := map[[32]byte]bool{}
		for _, p := range s.server.Peers {
			if seen[p.Key] {
				t.Fatalf("accepted a peer key twice: %q", text)
			}
			seen[p.Key] = true
		}
	})
}
