package lab

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// How long to wait for a daemon to enter its namespace after being started,
// and to exit after a signal. Generous: they only bound a hang.
const (
	enterTimeout = 10 * time.Second
	killTimeout  = 5 * time.Second
	termTimeout  = 15 * time.Second
)

// startDaemon starts the daemon of node n, detached in a session of its
// own (so that Ctrl-C in the terminal that ran `ntkd lab up` does not reach
// it), with stdout and stderr appended to its log. `ip netns exec` execs
// the daemon in place, so the pid it gets is the daemon's.
func startDaemon(s *State, n *Node) (int, error) {
	return startProcess(n.Namespace, n.Name+"'s daemon", n.Dir, n.Log, n.PIDFile, s.Ntkd, "run", "-c", n.Config)
}

// startProcess starts argv inside namespace as startDaemon does, in
// directory dir, its output appended to logPath, and writes its pid to
// pidFile once it is inside the namespace. what names it in errors.
func startProcess(namespace, what, dir, logPath, pidFile string, argv ...string) (int, error) {
	log, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return 0, fmt.Errorf("starting %s: %w", what, err)
	}
	defer log.Close() // the child has its own copy
	args := append([]string{"netns", "exec", namespace}, argv...)
	fmt.Fprintf(log, "ntkd lab: %s: starting ip %s\n", time.Now().Format(time.RFC3339), strings.Join(args, " "))
	cmd := exec.Command("ip", args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("starting %s: %w", what, err)
	}
	pid := cmd.Process.Pid
	// Reap it when it exits, so that a dead daemon does not linger as a
	// zombie of a long-running caller (a test); the CLI exits long before.
	go cmd.Wait()

	// Until `ip` has switched namespaces the pid is not recognisably ours
	// (see runsIn): wait for that before anyone can read the pid file.
	want, err := namespaceID(namespace)
	if err != nil {
		return 0, fmt.Errorf("starting %s: %w", what, err)
	}
	for deadline := time.Now().Add(enterTimeout); ; time.Sleep(5 * time.Millisecond) {
		if !alive(pid) {
			return 0, fmt.Errorf("%s exited at once; the end of its log:\n%s", what, logTail(logPath, 8))
		}
		if id, err := processNamespace(pid); err == nil && id == want {
			break
		}
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			return 0, fmt.Errorf("%s did not enter namespace %s within %v", what, namespace, enterTimeout)
		}
	}
	if err := os.WriteFile(pidFile, []byte(strconv.Itoa(pid)+"\n"), 0o644); err != nil {
		return 0, fmt.Errorf("starting %s: %w", what, err)
	}
	return pid, nil
}

// daemonPID returns the pid of node n's daemon, or 0 when it is not
// running.
func daemonPID(n *Node) int { return pidIn(n.PIDFile, n.Namespace) }

// pidIn returns the pid in pidFile when that process runs inside
// namespace, else 0.
func pidIn(pidFile, namespace string) int {
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || !runsIn(pid, namespace) {
		return 0
	}
	return pid
}

// Start starts node's daemon again, with the configuration Up wrote, and
// returns its pid. It fails when the daemon is already running.
func (l Lab) Start(node string) (int, error) {
	s, err := l.Load()
	if err != nil {
		return 0, err
	}
	n, err := s.Node(node)
	if err != nil {
		return 0, err
	}
	if pid := daemonPID(n); pid != 0 {
		return 0, fmt.Errorf("%s: the daemon is already running (pid %d)", node, pid)
	}
	return startDaemon(s, n)
}

// Kill stops node's daemon: with SIGKILL, a crash that leaves its routes
// and addresses behind in the kernel, or with term, SIGTERM, a clean stop.
// It returns once the daemon is gone, with the pid it had.
func (l Lab) Kill(node string, term bool) (int, error) {
	s, err := l.Load()
	if err != nil {
		return 0, err
	}
	n, err := s.Node(node)
	if err != nil {
		return 0, err
	}
	pid := daemonPID(n)
	if pid == 0 {
		return 0, fmt.Errorf("%s: the daemon is not running", node)
	}
	sig, sigName, timeout := syscall.SIGKILL, "SIGKILL", killTimeout
	if term {
		sig, sigName, timeout = syscall.SIGTERM, "SIGTERM", termTimeout
	}
	if err := syscall.Kill(pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return 0, fmt.Errorf("%s: signalling pid %d: %w", node, pid, err)
	}
	if left := waitGone([]int{pid}, timeout); len(left) > 0 {
		return 0, fmt.Errorf("%s: pid %d did not exit within %v of %s", node, pid, timeout, sigName)
	}
	if err := os.Remove(n.PIDFile); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return pid, fmt.Errorf("%s: %w", node, err)
	}
	return pid, nil
}

// logTail returns the last lines of a log, indented, for an error message:
// Up deletes the log with the rest of a lab it could not finish.
func logTail(path string, lines int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "    (" + err.Error() + ")"
	}
	all := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return "    " + strings.Join(all, "\n    ")
}
