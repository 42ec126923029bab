package wifi

import (
	"math"
	"time"
)

// MaxPenalty bounds Penalty: a wifi link costs at most 16 times what the
// radar measured, so a bad but working link still beats no link.
const MaxPenalty = 16.0

// The constants of the formula in the package doc.
const (
	referenceBitrate = 54e6 // bits/s priced at 1: 802.11a/g's top rate
	signalKnee       = -70  // dBm; above it the signal costs nothing
	signalDoubling   = 7.5  // dB below the knee that double the signal factor
	maxPHYFactor     = 8.0  // cap of the rate and of the signal factor
	maxRetryRatio    = 3.0  // retries per packet beyond which it is all the same
	failWeight       = 4.0  // a failed frame counts as four retries
	freshFor         = 5 * time.Second
	staleAfter       = 30 * time.Second
)

// Penalty is the link-cost multiplier, in [1, MaxPenalty], for a link over
// the station m describes; the formula is in the package doc. It is a pure
// function and accepts any input (NaN ratios count as 0).
func Penalty(m Metrics) float64 {
	phy := max(rateFactor(m.TxBitrate), signalFactor(m.Signal))
	loss := 1 + clamp(m.RetryRatio, 0, maxRetryRatio) + failWeight*clamp(m.FailRatio, 0, 1)
	raw := min(phy*loss, MaxPenalty)
	p := 1 + trust(m.Inactive)*(raw-1)
	return clamp(p, 1, MaxPenalty) // guards rounding only
}

// rateFactor is sqrt(reference/rate): 6 Mbit/s, a ninth of 54, costs 3.
func rateFactor(bitrate int) float64 {
	if bitrate <= 0 {
		return 1 // not reported
	}
	return clamp(math.Sqrt(referenceBitrate/float64(bitrate)), 1, maxPHYFactor)
}

// signalFactor doubles every signalDoubling dB below the knee: -85 dBm costs 4.
func signalFactor(dBm int) float64 {
	if dBm >= signalKnee {
		return 1
	}
	return clamp(math.Exp2(float64(signalKnee-dBm)/signalDoubling), 1, maxPHYFactor)
}

// trust is the weight of a station's figures given how long it has been
// silent: 1 while fresh, fading linearly to 0 at staleAfter.
func trust(inactive time.Duration) float64 {
	switch {
	case inactive <= freshFor:
		return 1
	case inactive >= staleAfter:
		return 0
	}
	return float64(staleAfter-inactive) / float64(staleAfter-freshFor)
}

// clamp also maps NaN to lo.
func clamp(v, lo, hi float64) float64 {
	switch {
	case v >= hi:
		return hi
	case v >= lo:
		return v
	}
	return lo
}
