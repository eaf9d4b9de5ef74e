//go:build unix && !linux

package pid1

import (
	"os"
	"time"
)

// becomeSubreaper does nothing where there are no subreapers: as PID 1, Run reaps orphans anyway.
func becomeSubreaper() {}

// waitRead does nothing: jobs run in Linux containers only.
func waitRead(*os.File, time.Duration, time.Duration) {}
