package ctl

import (
	"encoding/json"
	"testing"

	"github.com/ntkd/ntkd/internal/jsondec"
)

// The server's decoder reads a vlink-add request, with its nested spec,
// as the client's encoder wrote it.
func TestRequestVLinkDecodes(t *testing.T) {
	want := VLinkSpec{PublicKey: "AQEB", ListenPort: 27001, Name: "vx"}
	b, err := json.Marshal(Request{Cmd: CmdVLinkAdd, Arg: "198.51.100.7:27000", VLink: &want})
	if err != nil {
		t.Fatal(err)
	}
	var r Request
	if err := jsondec.Unmarshal(b, &r); err != nil || r.Cmd != CmdVLinkAdd || r.Arg != "198.51.100.7:27000" || r.VLink == nil || *r.VLink != want {
		t.Fatalf("%s decoded as %+v (%+v), %v", b, r, r.VLink, err)
	}
}
