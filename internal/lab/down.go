package lab

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"syscall"
)

// DownReport says what Down removed.
type DownReport struct {
	Namespaces []string `json:"namespaces"` // deleted
	Killed     []int    `json:"killed"`     // pids of the processes that ran inside them
	DirRemoved bool     `json:"dir_removed"`
	// DirKept is set when the directory exists but is not a lab's (no
	// marker file), so Down left it alone.
	DirKept bool `json:"dir_kept,omitempty"`
}

// Nothing says whether Down found nothing to remove.
func (r *DownReport) Nothing() bool {
	return len(r.Namespaces) == 0 && len(r.Killed) == 0 && !r.DirRemoved
}

// Down removes the lab: it kills every process inside its namespaces (the
// daemons, and anything started with Exec), deletes the namespaces (their
// veths and nftables go with them) and the state directory. It finds the
// namespaces by the state file and by the prefix, so it also cleans up
// after a lab whose state file is gone. It is idempotent.
func (l Lab) Down() (*DownReport, error) {
	if err := l.check(); err != nil {
		return nil, err
	}
	rep := &DownReport{}
	names, err := namespaces(l.Prefix)
	if err != nil {
		return nil, err
	}
	// A state file written with another prefix still names its own.
	if s, err := l.Load(); err == nil {
		own := []string{s.Internet}
		if s.WAN != nil {
			own = append(own, s.WAN.Namespace)
		}
		for _, n := range s.Nodes {
			own = append(own, n.Namespace)
		}
		for _, ns := range own {
			if _, err := os.Stat(filepath.Join(netnsDir, ns)); ns != "" && err == nil && !slices.Contains(names, ns) {
				names = append(names, ns)
			}
		}
	}
	slices.SortFunc(names, compareNames)

	var errs []error
	procs, err := processesIn(names)
	if err != nil {
		errs = append(errs, err)
	}
	var pids []int
	for _, n := range names {
		for _, pid := range procs[n] {
			if err := syscall.Kill(pid, syscall.SIGKILL); err == nil {
				pids = append(pids, pid)
			}
		}
	}
	slices.Sort(pids)
	rep.Killed = pids
	if left := waitGone(pids, killTimeout); len(left) > 0 {
		errs = append(errs, fmt.Errorf("processes %v survived SIGKILL for %v", left, killTimeout))
	}
	for _, n := range names {
		if err := deleteNamespace(n); err != nil {
			errs = append(errs, err)
			continue
		}
		rep.Namespaces = append(rep.Namespaces, n)
	}

	// Only a directory Up made is deleted: --dir could name any directory.
	_, markerErr := os.Stat(filepath.Join(l.Dir, markerFile))
	_, stateErr := os.Stat(filepath.Join(l.Dir, stateFile))
	switch {
	case markerErr == nil || stateErr == nil:
		if err := os.RemoveAll(l.Dir); err != nil {
			errs = append(errs, fmt.Errorf("removing %s: %w", l.Dir, err))
		} else {
			rep.DirRemoved = true
		}
	default:
		if _, err := os.Stat(l.Dir); err == nil {
			rep.DirKept = true
		} else if !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return rep, errors.Join(errs...)
}
