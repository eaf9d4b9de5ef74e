package inpod

import "golang.org/x/sys/unix"

// becomeSubreaper makes orphaned descendants children of this process even when it is not PID 1 (a pod that
// shares its process namespace), so that Run reaps them. PID 1 is a reaper already; failure changes nothing.
func becomeSubreaper() { _ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) }
