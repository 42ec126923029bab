// Package wifi reads nl80211 station metrics (over generic netlink, parsed
// as github.com/mdlayher/wifi does) so the radar can price a link over a
// wifi station by more than RTT and loss.
//
// A Monitor polls every wireless interface through a Source (nl80211 in
// the daemon, a fake fed by recorded fixtures in tests), keeps one
// snapshot of counters per station and turns the deltas between polls into
// retry and failure ratios. Kind reports how each interface is used
// (ad-hoc, 802.11s mesh point, station, access point; wired when nl80211
// does not know it) for logs and LuCI.
//
// Open returns ErrNoWifi when the kernel has no nl80211 (no cfg80211, a
// wired-only router): that is not an error for the daemon, it only means
// there are no wifi metrics and every link is priced by the radar alone.
//
// # Penalty
//
// Penalty(m) is the multiplier (1 to MaxPenalty = 16) the radar applies to
// its RTT/loss cost for a link over station m. With rate = m.TxBitrate in
// Mbit/s, s = m.Signal in dBm, r = m.RetryRatio, f = m.FailRatio:
//
//	rate factor    B = clamp(sqrt(54 / rate), 1, 8)       54 Mbit/s -> 1, 6 -> 3, 1 -> 7.3
//	signal factor  S = clamp(2^((-70 - s) / 7.5), 1, 8)  -70 dBm -> 1, -85 -> 4, -92.5 and below -> 8
//	loss factor    L = 1 + clamp(r, 0, 3) + 4 * clamp(f, 0, 1)
//	raw            P = min(max(B, S) * L, 16)
//	trust          w = 1 up to 5 s inactive, falling linearly to 0 at 30 s
//	Penalty        1 + w * (P - 1)
//
// The rate and signal factors are combined with max, not multiplied:
// minstrel lowers the rate when the signal weakens, so both describe the
// same radio condition and a product would count it twice. Retries and
// failures are what actually happened to the frames, so they multiply.
// A failure (a frame dropped after every retry) weighs four times a retry.
// Figures of a station silent for longer than a few seconds are old, so
// their weight fades and the penalty falls back to 1, leaving the radar's own
// probes to judge the link. A TxBitrate of 0 or below means "not reported"
// and is neutral (factor 1); a Signal of 0 (not reported) is already above
// the knee. Penalty is non-decreasing as the rate falls (over reported
// rates), as the signal falls and as either ratio rises, and non-increasing
// as Inactive grows.
package wifi

import (
	"errors"
	"fmt"
	"os"
)

// ErrNoWifi means the kernel has no nl80211: no wifi metrics, not a failure.
var ErrNoWifi = errors.New("wifi: nl80211 not available")

// Source is what ntkd reads of nl80211; tests use a fake fed by recorded
// fixtures.
type Source interface {
	Interfaces() ([]*Interface, error)
	StationInfo(ifi *Interface) ([]*StationInfo, error)
	Close() error
}

// Open connects to nl80211. When the kernel lacks it, Open returns
// (nil, ErrNoWifi): the daemon should then run without wifi metrics rather
// than fail. Any other error is a real failure, wrapped with context.
func Open() (Source, error) {
	return open(func() (Source, error) {
		c, err := dialNL80211()
		if err != nil {
			return nil, err // not c: a typed nil would pass a nil check
		}
		return c, nil
	})
}

// open is Open with the constructor injected, so tests need no nl80211.
func open(newClient func() (Source, error)) (Source, error) {
	src, err := newClient()
	switch {
	case errors.Is(err, os.ErrNotExist):
		// genetlink reports a missing nl80211 family as ENOENT.
		return nil, fmt.Errorf("%w: %w", ErrNoWifi, err)
	case err != nil:
		return nil, fmt.Errorf("wifi: open nl80211: %w", err)
	}
	return src, nil
}
