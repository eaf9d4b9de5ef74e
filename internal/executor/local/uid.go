package local

import (
	"errors"
	"sync"
)

// Job user ids. Each running sandboxed job has a user (and group) id no other process uses: not the server's, not
// another running job's, so the kernel's own checks keep it from the server's and other jobs' files, /proc
// entries, signals and ptrace. An id is given to a new job only once the job that had it is gone with all its
// processes and files (its sandbox holds everything it could write), so ids are reused: the most recently freed
// first, which keeps the set of ids in use, and of their passwd files (template.go), as small as the concurrency.
const (
	// DefaultUIDBase is the first job user id when Options.UIDBase is 0: far above the ids distributions give
	// people (1000+), systemd's dynamic users (61184-65519) and the subordinate ranges of rootless containers
	// (100000 + 65536 per user).
	DefaultUIDBase = 2_000_000_000
	// DefaultUIDCount is the number of job user ids when Options.UIDCount is 0.
	DefaultUIDCount = 1 << 16
)

// errNoUID: every id of the range is in use by a running job.
var errNoUID = errors.New("every job user id is in use")

// uidPool hands out user ids base..base+count-1, each to one job at a time.
type uidPool struct {
	base, count uint32
	mu          sync.Mutex
	fresh       uint32   // ids base+fresh.. have never been handed out
	free        []uint32 // ids given back, most recent last
}

func newUIDPool(base, count uint32) *uidPool {
	return &uidPool{base: base, count: count}
}

// get returns an id no running job has.
func (p *uidPool) get() (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.free); n > 0 {
		id := p.free[n-1]
		p.free = p.free[:n-1]
		return int(id), nil
	}
	if p.fresh >= p.count {
		return 0, errNoUID
	}
	p.fresh++
	return int(p.base + p.fresh - 1), nil
}

// put gives id back; the job that had it must have no process left and no file outside its sandbox.
func (p *uidPool) put(id int) {
	p.mu.Lock()
	p.free = append(p.free, uint32(id))
	p.mu.Unlock()
}
