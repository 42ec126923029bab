package topo

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// ParseError locates a problem in a topology file.
type ParseError struct {
	Name string // file name as given to Parse
	Line int    // 1-based; 0 when the problem concerns the whole file
	Msg  string
	Err  error // underlying cause, if any
}

func (e *ParseError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %s", e.Name, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s", e.Name, e.Line, e.Msg)
}

func (e *ParseError) Unwrap() error { return e.Err }

// maxLine bounds one line of input; real lines are a few dozen bytes.
const maxLine = 64 << 10

// Parse reads the text topology format:
//
//	# comment (also after data on a line)
//	nodes 10                         # optional; else max index + 1
//	0 1                              # a link with default properties
//	1 2 latency=5ms jitter=1ms loss=0.01
//
// Keys may come in any order, each at most once; durations use Go syntax
// (time.ParseDuration). Defaults are latency=2ms, jitter=0s, loss=0.
// Self-links, duplicate links (in either direction), negative values, loss
// outside [0,1] and indexes above MaxIndex are errors. Links are returned
// with A < B, in file order.
func Parse(name string, r io.Reader) (*Topology, error) {
	t := &Topology{Name: name}
	fail := func(line int, err error, format string, args ...any) error {
		return &ParseError{Name: name, Line: line, Msg: fmt.Sprintf(format, args...), Err: err}
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxLine)
	seen := map[[2]int]int{} // link -> line it was defined on
	nodes, nodesLine := -1, 0
	maxIdx := -1
	lineNo := 0
	for sc.Scan() {
		lineNo++
		text := sc.Text()
		if i := strings.IndexByte(text, '#'); i >= 0 {
			text = text[:i]
		}
		f := strings.Fields(text)
		if len(f) == 0 {
			continue
		}
		if f[0] == "nodes" {
			if nodesLine != 0 {
				return nil, fail(lineNo, nil, "second nodes line (first on line %d)", nodesLine)
			}
			if len(f) != 2 {
				return nil, fail(lineNo, nil, "want \"nodes N\"")
			}
			v, err := parseUint(f[1], MaxIndex+1)
			if err != nil {
				return nil, fail(lineNo, err, "nodes: %v", err)
			}
			if v < 1 {
				return nil, fail(lineNo, nil, "nodes: need at least one node")
			}
			nodes, nodesLine = v, lineNo
			continue
		}
		l, err := parseLink(f)
		if err != nil {
			return nil, fail(lineNo, err, "%v", err)
		}
		key := [2]int{l.A, l.B}
		if prev, dup := seen[key]; dup {
			return nil, fail(lineNo, nil, "link %d-%d already defined on line %d", l.A, l.B, prev)
		}
		seen[key] = lineNo
		maxIdx = max(maxIdx, l.B)
		t.Links = append(t.Links, l)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fail(lineNo+1, err, "line longer than %d bytes", maxLine)
		}
		return nil, fail(0, err, "read: %v", err)
	}
	switch {
	case nodes < 0 && maxIdx < 0:
		return nil, fail(0, nil, "no links and no nodes line")
	case nodes < 0:
		t.Nodes = maxIdx + 1
	case maxIdx >= nodes:
		// Report the first link that does not fit: that is what needs fixing.
		for i, l := range t.Links {
			if l.B >= nodes {
				return nil, fail(0, nil, "link %d (%d-%d) uses node %d but \"nodes %d\" (line %d)", i+1, l.A, l.B, l.B, nodes, nodesLine)
			}
		}
	default:
		t.Nodes = nodes
	}
	return t, nil
}

func parseIndex(s string) (int, error) { return parseUint(s, MaxIndex) }

// parseUint accepts plain decimal digits only: no sign, no base prefix.
func parseUint(s string, limit int) (int, error) {
	if strings.HasPrefix(s, "-") {
		return 0, fmt.Errorf("negative number %q", s)
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("bad number %q", s)
	}
	if v > uint64(limit) {
		return 0, fmt.Errorf("%d above %d", v, limit)
	}
	return int(v), nil
}

func parseLink(f []string) (Link, error) {
	l := Link{Latency: DefaultLatency}
	if len(f) < 2 {
		return l, fmt.Errorf("want \"a b [latency=D] [jitter=D] [loss=P]\", got %q", strings.Join(f, " "))
	}
	a, err := parseIndex(f[0])
	if err != nil {
		return l, err
	}
	b, err := parseIndex(f[1])
	if err != nil {
		return l, err
	}
	if a == b {
		return l, fmt.Errorf("self-link %d-%d", a, b)
	}
	l.A, l.B = min(a, b), max(a, b)
	set := map[string]bool{}
	for _, kv := range f[2:] {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return l, fmt.Errorf("want key=value, got %q", kv)
		}
		if set[k] {
			return l, fmt.Errorf("%s given twice", k)
		}
		set[k] = true
		switch k {
		case "latency", "jitter":
			d, err := time.ParseDuration(v)
			if err != nil {
				return l, fmt.Errorf("%s: %w", k, err)
			}
			if d < 0 {
				return l, fmt.Errorf("%s: negative duration %v", k, d)
			}
			if k == "latency" {
				l.Latency = d
			} else {
				l.Jitter = d
			}
		case "loss":
			p, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return l, fmt.Errorf("loss: bad number %q", v)
			}
			if !(p >= 0 && p <= 1) {
				return l, fmt.Errorf("loss: %v outside [0,1]", v)
			}
			l.Loss = p
		default:
			return l, fmt.Errorf("unknown key %q (want latency, jitter or loss)", k)
		}
	}
	return l, nil
}

// WriteText writes t in the format Parse reads, properties that differ from
// the defaults only; Parse of the output gives back the same nodes and links.
// Positions are not part of the format.
func (t *Topology) WriteText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "# %s\nnodes %d\n", strings.NewReplacer("\n", " ", "\r", " ").Replace(t.Name), t.Nodes)
	for _, l := range t.Links {
		fmt.Fprintf(bw, "%d %d", l.A, l.B)
		if l.Latency != DefaultLatency {
			fmt.Fprintf(bw, " latency=%v", l.Latency)
		}
		if l.Jitter != 0 {
			fmt.Fprintf(bw, " jitter=%v", l.Jitter)
		}
		if l.Loss != 0 {
			fmt.Fprintf(bw, " loss=%s", strconv.FormatFloat(l.Loss, 'g', -1, 64))
		}
		bw.WriteByte('\n')
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write topology %q: %w", t.Name, err)
	}
	return nil
}
