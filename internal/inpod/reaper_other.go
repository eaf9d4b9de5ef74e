//go:build unix && !linux

package inpod

// becomeSubreaper does nothing where there are no subreapers: as PID 1, Run reaps orphans anyway.
func becomeSubreaper() {}
