package api

import "testing"

func TestValidateEnvName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"API_KEY", true}, {"E2E-jsonPathLabel", true}, {"a.b", true}, {"_x9", true}, {"-lead", true},
		{"", false}, {"1X", false}, {"A B", false}, {"A=B", false}, {"x\x00", false}, {"EXTRA_VARS", false},
	} {
		if err := ValidateEnvName(tc.name); (err == nil) != tc.ok {
			t.Errorf("ValidateEnvName(%q) = %v, want ok %v", tc.name, err, tc.ok)
		}
	}
}
