package podman

import "testing"

func TestPodmanMessage(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"Error: no such container x\n", "no such container x"},
		{"time=\"...\" level=warning msg=\"Failed, retrying\"\nError: initializing source: connection refused\n", "initializing source: connection refused"},
		{"a\nb\n\nc\nd\n", "b; c; d"},
	}
	for _, tc := range tests {
		if got := podmanMessage(tc.in); got != tc.want {
			t.Errorf("podmanMessage(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
