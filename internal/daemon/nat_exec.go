//go:build !router

package daemon

import (
	"fmt"
	"os"
)

// runNft feeds a ruleset to nft: the gateway's NAT on a plain Linux
// machine. (Router builds leave NAT to OpenWrt's firewall: nat_router.go.)
func runNft(ruleset string) error {
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	path := "/usr/sbin/nft"
	if _, err := os.Stat(path); err != nil {
		path = "/sbin/nft"
	}
	p, err := os.StartProcess(path, []string{"nft", "-f", "-"}, &os.ProcAttr{Files: []*os.File{r, os.Stderr, os.Stderr}})
	r.Close()
	if err != nil {
		w.Close()
		return fmt.Errorf("nft: %w", err)
	}
	_, werr := w.WriteString(ruleset)
	w.Close()
	st, err := p.Wait()
	switch {
	case err != nil:
		return fmt.Errorf("nft: %w", err)
	case !st.Success():
		return fmt.Errorf("nft -f - failed (%v) on:\n%s", st, ruleset)
	}
	return werr
}
