//go:build !linux

package cgroup

import (
	"errors"
	"log/slog"
)

// ErrUnavailable: control groups are a Linux facility; elsewhere the package only compiles.
var ErrUnavailable = errors.New("cgroup: unavailable: not Linux")

// Options tune a Manager.
type Options struct {
	Name   string
	Logger *slog.Logger
}

// Manager is a stub outside Linux: Open always fails.
type Manager struct{}

// Open fails outside Linux.
func Open(Options) (*Manager, error) { return nil, ErrUnavailable }

// Close has nothing to release outside Linux.
func (m *Manager) Close() error { return nil }
