// Package arch holds the tests that keep the house plan of ARCHITECTURE.md true: which package may import which,
// and that every package says what it is for. It has no code of its own.
package arch
