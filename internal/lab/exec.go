package lab

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
)

// Command returns a command that runs args inside node's namespace, through
// `ip netns exec`. The caller sets its standard streams and runs it.
func (l Lab) Command(ctx context.Context, node string, args ...string) (*exec.Cmd, error) {
	if len(args) == 0 {
		return nil, errors.New("no command to run")
	}
	s, err := l.Load()
	if err != nil {
		return nil, err
	}
	n, err := s.Node(node)
	if err != nil {
		return nil, err
	}
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", n.Namespace}, args...)...), nil
}

// Exec runs args inside node's namespace and returns its combined output.
func (l Lab) Exec(ctx context.Context, node string, args ...string) ([]byte, error) {
	cmd, err := l.Command(ctx, node, args...)
	if err != nil {
		return nil, err
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("%s: %v: %w", node, args, err)
	}
	return out, nil
}
