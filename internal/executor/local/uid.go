package local

import (
	"errors"
	"sync"
)

// Job user ids. Each running sandboxed job has a user (and group) id no other process uses: not the server's, not
// another job's, so the kernel's own checks keep it from the server's and other jobs' files, /proc entries,
// signals and ptrace. Ids are handed out round robin over the range, so an id is used again as late as possible.
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
	next        uint32 // offset where the search for a free id starts
	used        map[uint32]bool
}

func newUIDPool(base, count uint32) *uidPool {
	return &uidPool{base: base, count: count, used: map[uint32]bool{}}
}

// get returns a free id.
func (p *uidPool) get() (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if uint32(len(p.used)) >= p.count {
		return 0, errNoUID
	}
	for p.used[p.next] {
		p.next = (p.next + 1) % p.count
	}
	off := p.next
	p.used[off] = true
	p.next = (p.next + 1) % p.count
	return int(p.base + off), nil
}

// put gives id back; the job that had it must have no process left and no file outside its sandbox.
func (p *uidPool) put(id int) {
	p.mu.Lock()
	delete(p.used, uint32(id)-p.base)
	p.mu.Unlock()
}
