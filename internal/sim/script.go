package sim

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// A script is a list of timed events, one per line:
//
//	60s cut 3 4          drop every packet on the link 3-4 (silent failure)
//	60s down 3 4         the same with carrier loss: both ends see it at once
//	90s restore 3 4      bring the link back (after cut or down)
//	120s kill 7          node 7 stops
//	150s start 7         node 7 starts again with fresh state
//	200s partition 0-99  cut every link between nodes 0..99 and the rest
//	260s merge           restore every link
//
// '#' starts a comment. Times are virtual, from the start of the run.
type Step struct {
	At   time.Duration
	Verb string
	Args []int
	Line int
}

// ParseScript reads a script; errors name the line.
func ParseScript(name string, r io.Reader) ([]Step, error) {
	var steps []Step
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		text, _, _ := strings.Cut(sc.Text(), "#")
		f := strings.Fields(text)
		if len(f) == 0 {
			continue
		}
		bad := func(format string, a ...any) error {
			return fmt.Errorf("%s:%d: %s", name, line, fmt.Sprintf(format, a...))
		}
		at, err := time.ParseDuration(f[0])
		if err != nil || at < 0 {
			return nil, bad("bad time %q", f[0])
		}
		st := Step{At: at, Verb: f[1%len(f)], Line: line}
		if len(f) < 2 {
			return nil, bad("missing verb")
		}
		want := map[string]int{"cut": 2, "down": 2, "restore": 2, "kill": 1, "start": 1, "partition": 1, "merge": 0}
		n, ok := want[st.Verb]
		if !ok {
			return nil, bad("unknown verb %q", st.Verb)
		}
		args := f[2:]
		if st.Verb == "partition" {
			if len(args) != 1 {
				return nil, bad("partition wants one range like 0-99")
			}
			lo, hi, ok := strings.Cut(args[0], "-")
			a, err1 := strconv.Atoi(lo)
			b, err2 := strconv.Atoi(hi)
			if !ok || err1 != nil || err2 != nil || a < 0 || b < a {
				return nil, bad("bad range %q", args[0])
			}
			st.Args = []int{a, b}
		} else {
			if len(args) != n {
				return nil, bad("%s wants %d node numbers", st.Verb, n)
			}
			for _, a := range args {
				v, err := strconv.Atoi(a)
				if err != nil || v < 0 {
					return nil, bad("bad node %q", a)
				}
				st.Args = append(st.Args, v)
			}
		}
		steps = append(steps, st)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return steps, nil
}

// Schedule arms the steps on the simulator. Node numbers are checked here.
func (s *Sim) Schedule(steps []Step) error {
	for _, st := range steps {
		for _, a := range st.Args {
			if a >= len(s.nodes) {
				return fmt.Errorf("line %d: node %d does not exist (%d nodes)", st.Line, a, len(s.nodes))
			}
		}
		var li int
		if len(st.Args) == 2 && st.Verb != "partition" {
			li = s.findLink(st.Args[0], st.Args[1])
			if li < 0 {
				return fmt.Errorf("line %d: no link %d-%d", st.Line, st.Args[0], st.Args[1])
			}
		}
		st := st
		s.At(st.At, func() {
			s.LastScript = s.now
			switch st.Verb {
			case "cut":
				s.SetLink(li, false)
			case "down":
				s.SetLinkCarrier(li, false)
			case "restore":
				if s.links[li].up {
					return
				}
				s.SetLinkCarrier(li, true)
			case "kill":
				s.Kill(st.Args[0])
			case "start":
				s.Restart(st.Args[0])
			case "partition":
				for i, l := range s.links {
					inA := l.A >= st.Args[0] && l.A <= st.Args[1]
					inB := l.B >= st.Args[0] && l.B <= st.Args[1]
					if inA != inB {
						s.SetLink(i, false)
					}
				}
			case "merge":
				for i := range s.links {
					if !s.links[i].up {
						s.SetLinkCarrier(i, true)
					}
				}
			}
		})
	}
	return nil
}

func (s *Sim) findLink(a, b int) int {
	for i, l := range s.links {
		if (l.A == a && l.B == b) || (l.A == b && l.B == a) {
			return i
		}
	}
	return -1
}
