//go:build !linux

package pid1

// watchDir watches nothing: the poll finds the marker.
func watchDir(string) (<-chan struct{}, func()) { return nil, func() {} }
