package controller

import (
	"sync"
	"time"
)

// key names what a worker reconciles: a promise (namespace and name empty) or one of its resource requests.
type key struct {
	Promise   string
	Request   bool
	Namespace string
	Name      string
}

func promiseKey(p string) key { return key{Promise: p} }
func requestKey(p, ns, name string) key {
	return key{Promise: p, Request: true, Namespace: ns, Name: name}
}
func (k key) String() string {
	if !k.Request {
		return "promise/" + k.Promise
	}
	return "resource/" + k.Promise + "/" + k.Namespace + "/" + k.Name
}

// queue hands keys to workers, each key to one worker at a time: a key added while a worker has it is handed out
// again once that worker is done, so the last change is always seen.
type queue struct {
	mu      sync.Mutex
	order   []key
	queued  map[key]bool
	active  map[key]bool
	again   map[key]bool
	ready   chan struct{} // has a value while order may be non-empty
	timers  map[key]*timer
	stopped bool
}

type timer struct {
	at time.Time
	t  *time.Timer
}

func newQueue() *queue {
	return &queue{queued: map[key]bool{}, active: map[key]bool{}, again: map[key]bool{}, ready: make(chan struct{}, 1),
		timers: map[key]*timer{}}
}

// add queues k (once).
func (q *queue) add(k key) {
	q.mu.Lock()
	defer q.mu.Unlock()
	switch {
	case q.stopped:
	case q.active[k]:
		q.again[k] = true
	case !q.queued[k]:
		q.queued[k] = true
		q.order = append(q.order, k)
		q.wake()
	}
}

func (q *queue) wake() {
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// take returns the next key, if any, and marks it active.
func (q *queue) take() (key, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.order) == 0 {
		return key{}, false
	}
	k := q.order[0]
	q.order = q.order[1:]
	delete(q.queued, k)
	q.active[k] = true
	if len(q.order) > 0 {
		q.wake()
	}
	return k, true
}

// done ends a worker's hold of k, queueing it again if it was added meanwhile.
func (q *queue) done(k key) {
	q.mu.Lock()
	delete(q.active, k)
	again := q.again[k]
	delete(q.again, k)
	q.mu.Unlock()
	if again {
		q.add(k)
	}
}

// at queues k at t (or sooner, if it is already due sooner).
func (q *queue) at(k key, t time.Time, now time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.stopped {
		return
	}
	if have := q.timers[k]; have != nil {
		if !have.at.After(t) {
			return
		}
		have.t.Stop()
	}
	tm := &timer{at: t}
	tm.t = time.AfterFunc(max(t.Sub(now), 0), func() {
		q.mu.Lock()
		if q.timers[k] == tm {
			delete(q.timers, k)
		}
		q.mu.Unlock()
		q.add(k)
	})
	q.timers[k] = tm
}

// stop ends every timer; nothing is queued after it.
func (q *queue) stop() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.stopped = true
	for _, t := range q.timers {
		t.t.Stop()
	}
	q.timers = map[key]*timer{}
}
