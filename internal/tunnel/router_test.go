//go:build router

package tunnel

import "github.com/vishvananda/netns"

func testBackends() []Backend { return []Backend{NewKernel(netns.None())} }
