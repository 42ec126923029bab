package lab

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// netnsDir is where `ip netns` keeps named namespaces (and where
// netns.GetFromName looks for them).
const netnsDir = "/run/netns"

// ipCmd runs `ip args...` and returns a readable error with its stderr.
func ipCmd(args ...string) error {
	return run(exec.Command("ip", args...), nil)
}

// run runs cmd, with stdin when not nil, and turns a failure into an error
// quoting the command's own message.
func run(cmd *exec.Cmd, stdin []byte) error {
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	if err := cmd.Run(); err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return fmt.Errorf("%s: %w (is it installed?)", cmd.Path, err)
		}
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return fmt.Errorf("%s: %s", strings.Join(cmd.Args, " "), msg)
	}
	return nil
}

// namespaces lists the named namespaces whose name starts with prefix.
func namespaces(prefix string) ([]string, error) {
	entries, err := os.ReadDir(netnsDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing namespaces: %w", err)
	}
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// addNamespace creates the namespace of a node and prepares it: loopback
// up, and no IPv6 duplicate address detection, which would hold the
// link-local addresses ntkd talks over for a second or two. The sysctls
// are set before any veth exists so that every veth inherits them.
func addNamespace(name string) error {
	if err := ipCmd("netns", "add", name); err != nil {
		return err
	}
	err := inNamespace(name, func() error {
		for _, key := range []string{"net/ipv6/conf/all/accept_dad", "net/ipv6/conf/default/accept_dad"} {
			if err := os.WriteFile("/proc/sys/"+key, []byte("0"), 0); err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return fmt.Errorf("IPv6 is disabled on this machine, and ntkd needs IPv6 link-local addresses: %w", err)
				}
				return fmt.Errorf("setting %s: %w", key, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("namespace %s: %w", name, err)
	}
	return withHandle(name, func(h *netlink.Handle) error {
		lo, err := h.LinkByName("lo")
		if err != nil {
			return fmt.Errorf("namespace %s: loopback: %w", name, err)
		}
		if err := h.LinkSetUp(lo); err != nil {
			return fmt.Errorf("namespace %s: loopback up: %w", name, err)
		}
		return nil
	})
}

// deleteNamespace removes a named namespace, as `ip netns del` does; its
// veths go with it once no process is left inside. A file that is not
// mounted (left by an interrupted `ip netns add`) is removed too.
func deleteNamespace(name string) error {
	path := filepath.Join(netnsDir, name)
	if err := unix.Unmount(path, unix.MNT_DETACH); err != nil && err != unix.EINVAL && err != unix.ENOENT {
		return fmt.Errorf("deleting namespace %s: %w", name, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("deleting namespace %s: %w", name, err)
	}
	return nil
}

// inNamespace runs f on an OS thread switched into the named namespace.
// It uses a goroutine of its own: if the thread cannot be switched back,
// the goroutine exits still locked to it and Go discards the thread,
// instead of letting other code run in the wrong namespace.
func inNamespace(name string, f func() error) error {
	target, err := netns.GetFromName(name)
	if err != nil {
		return fmt.Errorf("opening namespace %s: %w", name, err)
	}
	defer target.Close()
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			done <- fmt.Errorf("current namespace: %w", err)
			return
		}
		defer orig.Close()
		if err := netns.Set(target); err != nil {
			runtime.UnlockOSThread()
			done <- fmt.Errorf("entering namespace %s: %w", name, err)
			return
		}
		ferr := f()
		if err := netns.Set(orig); err != nil {
			done <- errors.Join(ferr, fmt.Errorf("leaving namespace %s: %w", name, err))
			return // the thread stays locked and dies with this goroutine
		}
		runtime.UnlockOSThread()
		done <- ferr
	}()
	return <-done
}

// withHandle runs f with a route netlink handle inside the named namespace.
// Only NETLINK_ROUTE: that is all the lab needs.
func withHandle(name string, f func(*netlink.Handle) error) error {
	ns, err := netns.GetFromName(name)
	if err != nil {
		return fmt.Errorf("opening namespace %s: %w", name, err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("netlink in namespace %s: %w", name, err)
	}
	defer h.Close()
	return f(h)
}

// nsID identifies a network namespace: the inode of its nsfs file.
type nsID struct{ dev, ino uint64 }

func statID(path string) (nsID, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return nsID{}, err
	}
	return nsID{uint64(st.Dev), st.Ino}, nil
}

// namespaceID identifies a named namespace.
func namespaceID(name string) (nsID, error) {
	id, err := statID(filepath.Join(netnsDir, name))
	if err != nil {
		return nsID{}, fmt.Errorf("namespace %s: %w", name, err)
	}
	return id, nil
}

// processNamespace identifies the network namespace of a process.
func processNamespace(pid int) (nsID, error) {
	return statID("/proc/" + strconv.Itoa(pid) + "/ns/net")
}

// alive says whether pid is a running process: zombies have exited, they
// only wait for their parent to notice.
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// The state follows the command name, which is in parentheses and may
	// itself contain ") ".
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return false
	}
	state := b[i+2]
	return state != 'Z' && state != 'X'
}

// runsIn says whether pid is alive inside the named namespace. A pid file
// may outlive its process and the pid be reused; the namespace tells ours
// apart.
func runsIn(pid int, namespace string) bool {
	if pid <= 0 || !alive(pid) {
		return false
	}
	want, err := namespaceID(namespace)
	if err != nil {
		return false
	}
	got, err := processNamespace(pid)
	return err == nil && got == want
}

// processesIn returns the pids of every process inside the given
// namespaces, by namespace name.
func processesIn(names []string) (map[string][]int, error) {
	ids := map[nsID]string{}
	for _, n := range names {
		if id, err := namespaceID(n); err == nil {
			ids[id] = n
		}
	}
	out := map[string][]int{}
	if len(ids) == 0 {
		return out, nil
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("listing processes: %w", err)
	}
	self := os.Getpid()
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		id, err := processNamespace(pid)
		if err != nil {
			continue // gone meanwhile, or a kernel thread
		}
		if n, ok := ids[id]; ok && alive(pid) {
			out[n] = append(out[n], pid)
		}
	}
	return out, nil
}

// waitGone waits until none of pids is alive, or until timeout; it returns
// those still alive.
func waitGone(pids []int, timeout time.Duration) []int {
	deadline := time.Now().Add(timeout)
	for {
		var left []int
		for _, p := range pids {
			if alive(p) {
				left = append(left, p)
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(20 * time.Millisecond)
	}
}
