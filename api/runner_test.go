package api

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

// TestRunnerValidateSavedMeansRunnable: what git or exec would refuse at the first job is a 400 when saved.
func TestRunnerValidateSavedMeansRunnable(t *testing.T) {
	big := strings.Repeat("x", MaxEnvEntry)
	quarter := strings.Repeat("y", MaxEnvEntry/2)
	tests := []struct {
		name    string
		r       Runner
		wantErr string // "" for valid
	}{
		{"https", Runner{GitURL: "https://git.example.com/o/r.git"}, ""},
		{"http with port", Runner{GitURL: "http://127.0.0.1:8080/r.git"}, ""},
		{"ssh with user", Runner{GitURL: "ssh://git@github.com/o/r.git"}, ""},
		{"file", Runner{GitURL: "file:///srv/repos/r.git"}, ""},
		{"branch", Runner{GitURL: "https://h/r.git", Branch: "release/v1"}, ""},
		{"secrets", Runner{GitURL: "https://h/r.git", Secret: map[string]string{"A": "1", "B": quarter}}, ""},
		{"git protocol", Runner{GitURL: "git://h/r.git"}, "git:// is not supported"},
		{"ftp", Runner{GitURL: "ftp://h/r.git"}, "want an https://"},
		{"scp-like", Runner{GitURL: "git@github.com:o/r.git"}, "want an https://"},
		{"ext transport", Runner{GitURL: "ext::sh -c touch% /tmp/pwned"}, "spaces"},
		{"https token as user", Runner{GitURL: "https://ghp_abc@github.com/o/r.git"}, "must not carry credentials"},
		{"https user and password", Runner{GitURL: "https://user:hunter2@github.com/o/r.git"}, "must not carry credentials"},
		{"ssh password", Runner{GitURL: "ssh://git:hunter2@h/r.git"}, "must not carry a password"},
		{"https no host", Runner{GitURL: "https:///r.git"}, "no host"},
		{"file with host", Runner{GitURL: "file://evil/r.git"}, "file:///absolute/path"},
		{"branch git refuses", Runner{GitURL: "https://h/r.git", Branch: "a..b"}, "not a valid git branch name"},
		{"branch lock", Runner{GitURL: "https://h/r.git", Branch: "x.lock"}, "not a valid git branch name"},
		{"nul in secret", Runner{GitURL: "https://h/r.git", Secret: map[string]string{"A": "a\x00b"}}, "NUL"},
		{"nul in token", Runner{GitURL: "https://h/r.git", Token: "a\x00b"}, "NUL"},
		{"secret over MAX_ARG_STRLEN", Runner{GitURL: "https://h/r.git", Secret: map[string]string{"A": big}}, "under 128 KiB"},
		{"secrets over the runner budget", Runner{GitURL: "https://h/r.git", Secret: map[string]string{
			"A": quarter, "B": quarter, "C": quarter, "D": quarter, "E": quarter, "F": quarter, "G": quarter, "H": quarter,
			"I": quarter}}, "a runner may have"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.r.Name = "r"
			err := tt.r.Validate()
			var inv *InvalidError
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tt.wantErr != "" && (!errors.As(err, &inv) || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("Validate() = %v, want an *InvalidError containing %q", err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "hunter2") {
				t.Errorf("Validate() error %q quotes the password", err)
			}
		})
	}
}

func TestRunnerMaskedRedactsGitURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://h/r.git", "https://h/r.git"},
		{"https://ghp_secret@h/r.git", "https://" + Mask + "@h/r.git"},
		{"https://u:ghp_secret@h/r.git", "https://" + Mask + "@h/r.git"},
		{"ssh://git@h/r.git", "ssh://git@h/r.git"},
		{"ssh://git:pw_secret@h/r.git", "ssh://git:" + Mask + "@h/r.git"},
	}
	for _, tt := range tests {
		got := Runner{GitURL: tt.in}.Masked().GitURL
		if got != tt.want {
			t.Errorf("Runner{GitURL: %q}.Masked().GitURL = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestTaskValidateCommandNUL(t *testing.T) {
	task := Task{Name: "t", Runner: "r", Command: "echo a\x00b"}
	if err := task.Validate(); err == nil || !strings.Contains(err.Error(), "NUL") {
		t.Errorf("Validate(command with NUL) = %v, want a NUL error", err)
	}
}

func TestCheckJobInput(t *testing.T) {
	quarter := strings.Repeat("y", MaxEnvEntry/2)
	// A runner saved before secrets were bounded: more than MaxSecretEnv.
	heavy := Runner{Secret: map[string]string{"A": quarter, "B": quarter, "C": quarter, "D": quarter, "E": quarter,
		"F": quarter, "G": quarter, "H": quarter, "I": quarter, "J": quarter, "K": quarter, "L": quarter, "M": quarter, "N": quarter}}
	task := Task{Command: "true"}
	tests := []struct {
		name    string
		r       Runner
		input   []byte
		wantErr string
	}{
		{"none", Runner{}, nil, ""},
		{"small", Runner{}, []byte(`{"a":1}`), ""},
		{"just fits", Runner{}, []byte(`"` + strings.Repeat("a", MaxEnvEntry-len("EXTRA_VARS=")-1-2) + `"`), ""},
		{"one byte over MAX_ARG_STRLEN", Runner{}, []byte(`"` + strings.Repeat("a", MaxEnvEntry-len("EXTRA_VARS=")-2) + `"`), "EXTRA_VARS"},
		{"over the job budget with the secrets", heavy, []byte(`"` + strings.Repeat("a", MaxEnvEntry-100) + `"`), "a job may have"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckJobInput(task, tt.r, tt.input)
			if (tt.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("CheckJobInput(%d bytes) = %v, want error containing %q", len(tt.input), err, tt.wantErr)
			}
		})
	}
}

func TestValidateUsernameVisible(t *testing.T) {
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"ascii", "jane.doe", true},
		{"directory", `CORP\jane`, true},
		{"accents", "zoë", true},
		{"cjk", "山田", true},
		{"right-to-left override", "admin\u202etxt.exe", false},
		{"left-to-right mark", "root\u200e", false},
		{"zero-width space", "ro\u200bot", false},
		{"zero-width joiner", "ro\u200dot", false},
		{"byte order mark", "\ufeffroot", false},
		{"soft hyphen", "ro\u00adot", false},
		{"isolate", "\u2066root\u2069", false},
		{"c1 control", "ro\u0085ot", false},
		{"line separator", "ro\u2028ot", false},
		{"private use", "ro\ue000ot", false},
		{"invalid utf-8", "ro\xffot", false},
		{"replacement char", "ro\ufffdot", false},
		{"nul", "ro\x00ot", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for what, err := range map[string]error{
				"ValidateUsername": ValidateUsername(tt.in),
				"Group.Validate":   (&Group{Name: tt.in, Provider: ProviderLocal}).Validate(),
			} {
				if (err == nil) != tt.ok {
					t.Errorf("%s(%q) = %v, want ok %v", what, tt.in, err, tt.ok)
				}
			}
		})
	}
}

// FuzzRunnerValidate: Validate never panics, and a runner it accepts carries no credentials in an http(s)
// gitURL, no git:// URL, no NUL and a branch git takes.
func FuzzRunnerValidate(f *testing.F) {
	for _, s := range []string{"https://h/r.git", "https://u:p@h/r.git", "git://h/r", "ssh://git@h/r", "file:///r", "HTTPS://U@H/R"} {
		f.Add(s, "main", "v")
	}
	f.Fuzz(func(t *testing.T, gitURL, branch, value string) {
		r := Runner{Name: "r", GitURL: gitURL, Branch: branch, Secret: map[string]string{"K": value}}
		if r.Validate() != nil {
			return
		}
		p, err := url.Parse(gitURL)
		if err != nil {
			t.Fatalf("Validate accepted gitURL %q that does not parse: %v", gitURL, err)
		}
		if (p.Scheme == "http" || p.Scheme == "https") && p.User != nil {
			t.Fatalf("Validate accepted gitURL %q with credentials", gitURL)
		}
		if p.Scheme != "https" && p.Scheme != "http" && p.Scheme != "ssh" && p.Scheme != "file" {
			t.Fatalf("Validate accepted gitURL %q of scheme %q", gitURL, p.Scheme)
		}
		if strings.ContainsRune(value, 0) {
			t.Fatalf("Validate accepted a secret value with NUL")
		}
		if branch != "" && ValidateBranch(branch) != nil {
			t.Fatalf("Validate accepted branch %q", branch)
		}
		if m := r.Masked().GitURL; strings.Contains(m, "@") && p.User != nil {
			if pw, ok := p.User.Password(); ok && pw != "" && strings.Contains(m, ":"+pw+"@") {
				t.Fatalf("Masked() shows the password of %q: %q", gitURL, m)
			}
		}
	})
}

// FuzzValidateUsername: an accepted name has no control or format character and is valid UTF-8.
func FuzzValidateUsername(f *testing.F) {
	for _, s := range []string{"root", "admin\u202e", "zoë", "\ufeff", "a\u200bb"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if ValidateUsername(s) != nil {
			return
		}
		for _, c := range s {
			if c == 0xfffd || c < 0x20 || (c >= 0x7f && c < 0xa0) || strings.ContainsRune("\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff\u00ad", c) {
				t.Fatalf("ValidateUsername(%q) accepted %U", s, c)
			}
		}
	})
}

// FuzzCheckJobInput: an accepted input always fits one environment variable.
func FuzzCheckJobInput(f *testing.F) {
	f.Add([]byte(`{"a":1}`), 10)
	f.Fuzz(func(t *testing.T, input []byte, pad int) {
		if pad < 0 || pad > 4*MaxEnvEntry {
			return
		}
		in := append(input, make([]byte, pad)...)
		if CheckJobInput(Task{Command: "true"}, Runner{}, in) == nil && len("EXTRA_VARS=")+len(in)+1 > MaxEnvEntry {
			t.Fatalf("CheckJobInput accepted %d bytes", len(in))
		}
	})
}
