package secret

import (
	"bytes"
	"strings"
	"testing"
)

// maskAll writes chunks through a MaskWriter and returns what came out.
func maskAll(values []string, chunks ...string) string {
	var buf bytes.Buffer
	m := NewMaskWriter(&buf, values)
	for _, c := range chunks {
		m.Write([]byte(c))
	}
	m.Close()
	return buf.String()
}

func TestMaskWriter(t *testing.T) {
	tests := []struct {
		name   string
		values []string
		chunks []string
		want   string
	}{
		{"no values", nil, []string{"plain ", "text"}, "plain text"},
		{"one value", []string{"hunter2"}, []string{"pw=hunter2\n"}, "pw=***\n"},
		{"twice", []string{"hunter2"}, []string{"hunter2 and hunter2"}, "*** and ***"},
		{"split across writes", []string{"hunter2"}, []string{"pw=hun", "te", "r2!"}, "pw=***!"},
		{"split one byte at a time", []string{"abcdef"}, strings.Split("xxabcdefyy", ""), "xx***yy"},
		{"prefix that is not a value", []string{"hunter2"}, []string{"hunt", "ing"}, "hunting"},
		{"prefix left at the end", []string{"hunter2"}, []string{"ends with hunte"}, "ends with hunte"},
		{"longest value wins", []string{"abc", "abcdef"}, []string{"abcdef abc"}, "*** ***"},
		{"overlapping values", []string{"aaab"}, []string{"aaaab"}, "a***"},
		{"too short to mask", []string{"ab"}, []string{"ab cab"}, "ab cab"},
		{"multi-line value", []string{"line1\nline2"}, []string{"line1\n", "line2\n"}, "***\n"},
		{"two values", []string{"s3cr3t", "t0ken"}, []string{"t0ken:s3cr3t"}, "***:***"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := maskAll(tc.values, tc.chunks...); got != tc.want {
				t.Errorf("mask(%q, %q) = %q, want %q", tc.values, tc.chunks, got, tc.want)
			}
		})
	}
}

func TestMaskWriterDoesNotHoldBackUnrelatedOutput(t *testing.T) {
	var buf bytes.Buffer
	m := NewMaskWriter(&buf, []string{"hunter2"})
	m.Write([]byte("progress 50%\n"))
	if buf.String() != "progress 50%\n" {
		t.Errorf("after a write with no possible value, out = %q, want it all", buf.String())
	}
}

func FuzzMaskWriter(f *testing.F) {
	f.Add("secret", "a secret in a sentence", 3)
	f.Add("aaab", "aaaaaab", 1)
	f.Fuzz(func(t *testing.T, value, input string, chunk int) {
		if chunk <= 0 || chunk > 64 {
			chunk = 7
		}
		var chunks []string
		for s := input; len(s) > 0; {
			n := min(chunk, len(s))
			chunks = append(chunks, s[:n])
			s = s[n:]
		}
		got := maskAll([]string{value}, chunks...)
		// Whatever the split, the output is the same as masking the whole input at once.
		if whole := maskAll([]string{value}, input); got != whole {
			t.Fatalf("chunked %q = %q, whole = %q", chunks, got, whole)
		}
		if len(value) >= MinMaskLen && strings.Contains(got, value) && !strings.Contains(LogMask, value) {
			// A value can reappear only when masking created it from surrounding text.
			if strings.Count(input, value) > 0 && !strings.Contains(strings.ReplaceAll(input, value, LogMask), value) {
				t.Fatalf("value %q survives in %q", value, got)
			}
		}
	})
}
