//go:build router

package main

// Router builds leave the simulator and other developer tools out: they
// would cost flash and nothing on a router uses them.
func toolCommands() map[string]command { return nil }
