package lab

import (
	"bytes"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"syscall"

	"github.com/vishvananda/netlink"
)

// NftTable is the nftables table, family netdev, that silent cuts put in
// the namespaces of both ends: one chain per cut interface, dropping at
// its ingress. Dropping on receive at both ends drops every packet both
// ways, ARP and neighbour discovery included, while the carrier stays up.
const NftTable = "ntkdlab"

// nftChain is the chain that silences the interface ifc.
func nftChain(ifc string) string { return "cut-" + ifc }

// Cut breaks the link between nodes a and b. By default both veth ends go
// down, as when a cable is pulled: the daemons see the interface go away.
// With silent the carrier stays up and nftables drops every packet both
// ways, a failure only lost probes reveal.
func (l Lab) Cut(a, b string, silent bool) error {
	s, lk, err := l.link(a, b)
	if err != nil {
		return err
	}
	for _, end := range ends(s, lk) {
		if silent {
			err = nft(end.namespace, fmt.Sprintf(
				"add table netdev %s\nadd chain netdev %s %s { type filter hook ingress device %q priority -500; policy drop; }\n",
				NftTable, NftTable, nftChain(end.ifc), end.ifc))
		} else {
			err = withHandle(end.namespace, func(h *netlink.Handle) error { return setLink(h, end.ifc, false) })
		}
		if err != nil {
			return fmt.Errorf("cutting %s-%s: %w", a, b, err)
		}
	}
	return nil
}

// Restore undoes Cut, silent or not: both ends up, their nftables chains
// gone (and the table, once empty).
func (l Lab) Restore(a, b string) error {
	s, lk, err := l.link(a, b)
	if err != nil {
		return err
	}
	_, nftErr := exec.LookPath("nft")
	for _, end := range ends(s, lk) {
		err := withHandle(end.namespace, func(h *netlink.Handle) error { return setLink(h, end.ifc, true) })
		if err == nil && nftErr == nil {
			// Without nft there can be no silent cut to undo.
			err = unsilence(end.namespace, end.ifc)
		}
		if err != nil {
			return fmt.Errorf("restoring %s-%s: %w", a, b, err)
		}
	}
	return nil
}

// Silenced says whether the interface of node towards peer is cut
// silently, that is whether its nftables chain exists.
func (l Lab) Silenced(node, peer string) (bool, error) {
	s, lk, err := l.link(node, peer)
	if err != nil {
		return false, err
	}
	for _, end := range ends(s, lk) {
		if end.node == node {
			chains, err := nftChains(end.namespace)
			if err != nil {
				return false, err
			}
			_, ok := chains[nftChain(end.ifc)]
			return ok, nil
		}
	}
	return false, nil
}

// FindSilentCuts fills in which links of st are cut silently. It is not
// part of Status because it runs nft in every namespace, too slow to poll;
// without nft there can be no silent cut.
func (l Lab) FindSilentCuts(st *Status) error {
	if _, err := exec.LookPath("nft"); err != nil {
		return nil
	}
	s, err := l.Load()
	if err != nil {
		return err
	}
	silenced := map[string]bool{} // "node/interface"
	var errs []error
	for _, n := range s.Nodes {
		chains, err := nftChains(n.Namespace)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, ifc := range n.Interfaces {
			if _, ok := chains[nftChain(ifc)]; ok {
				silenced[n.Name+"/"+ifc] = true
			}
		}
	}
	for i := range st.Links {
		ls := &st.Links[i]
		lk, err := s.Link(ls.A, ls.B)
		if err != nil {
			continue
		}
		ls.Silent = silenced[lk.A+"/"+lk.IfA] || silenced[lk.B+"/"+lk.IfB]
	}
	return errors.Join(errs...)
}

func (l Lab) link(a, b string) (*State, *Link, error) {
	s, err := l.Load()
	if err != nil {
		return nil, nil, err
	}
	lk, err := s.Link(a, b)
	if err != nil {
		return nil, nil, err
	}
	return s, lk, nil
}

type linkEnd struct{ node, namespace, ifc string }

func ends(s *State, lk *Link) [2]linkEnd {
	return [2]linkEnd{
		{lk.A, s.Prefix + lk.A, lk.IfA},
		{lk.B, s.Prefix + lk.B, lk.IfB},
	}
}

// unsilence removes the chain of ifc, and the table when no chain is left.
func unsilence(namespace, ifc string) error {
	chains, err := nftChains(namespace)
	if err != nil || len(chains) == 0 {
		return err
	}
	if _, ok := chains[nftChain(ifc)]; !ok {
		return nil
	}
	if len(chains) == 1 {
		return nft(namespace, fmt.Sprintf("delete table netdev %s\n", NftTable))
	}
	return nft(namespace, fmt.Sprintf("delete chain netdev %s %s\n", NftTable, nftChain(ifc)))
}

var chainLine = regexp.MustCompile(`(?m)^\s*chain (\S+) \{`)

// nftChains lists the chains of the lab's table in a namespace; none when
// the table does not exist.
func nftChains(namespace string) (map[string]struct{}, error) {
	out, err := exec.Command("ip", "netns", "exec", namespace, "nft", "list", "table", "netdev", NftTable).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && bytes.Contains(ee.Stderr, []byte("No such file or directory")) {
			return nil, nil
		}
		if ee != nil {
			return nil, fmt.Errorf("nft list table in %s: %s", namespace, ee.Stderr)
		}
		return nil, fmt.Errorf("nft list table in %s: %w", namespace, err)
	}
	chains := map[string]struct{}{}
	for _, m := range chainLine.FindAllSubmatch(out, -1) {
		chains[string(m[1])] = struct{}{}
	}
	return chains, nil
}

// nft runs an nft script inside a namespace.
func nft(namespace, script string) error {
	if _, err := exec.LookPath("nft"); err != nil {
		return fmt.Errorf("a silent cut needs nft (nftables): %w", err)
	}
	return run(exec.Command("ip", "netns", "exec", namespace, "nft", "-f", "-"), []byte(script))
}

// AddLink joins nodes a and b with a new veth pair while the lab runs (a
// cable plugged in, or two islands coming into radio range): the state
// and both configurations list it, and both daemons reload (SIGHUP) to
// take it as a mesh interface.
func (l Lab) AddLink(a, b string) error {
	s, err := l.Load()
	if err != nil {
		return err
	}
	na, err := s.Node(a)
	if err != nil {
		return err
	}
	nb, err := s.Node(b)
	if err != nil {
		return err
	}
	if a == b {
		return fmt.Errorf("a link from %s to itself", a)
	}
	if _, err := s.Link(a, b); err == nil {
		return fmt.Errorf("%s and %s are already linked", a, b)
	}
	lk := Link{A: a, B: b, IfA: ifName(b), IfB: ifName(a)}
	if err := addLink(s.Prefix, lk); err != nil {
		return err
	}
	s.Links = append(s.Links, lk)
	na.Interfaces = append(na.Interfaces, lk.IfA)
	nb.Interfaces = append(nb.Interfaces, lk.IfB)
	for _, n := range []*Node{na, nb} {
		if err := writeConfig(s, n); err != nil {
			return err
		}
	}
	if err := l.save(s); err != nil {
		return err
	}
	for _, n := range []*Node{na, nb} {
		if pid := daemonPID(n); pid != 0 {
			if err := syscall.Kill(pid, syscall.SIGHUP); err != nil {
				return fmt.Errorf("reloading %s: %w", n.Name, err)
			}
		}
	}
	return nil
}
