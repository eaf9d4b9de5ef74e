package server

import (
	"fmt"
	"os"
	"strings"
)

// secretVars are the variables that may hold a secret, each also readable from the file its _FILE variant names:
// the root password, the PostgreSQL URL (user:password@...) and the directory's bind password.
var secretVars = []string{"RUNPLANE_ROOT_PASSWORD", "RUNPLANE_STORE", "RUNPLANE_LDAP_BIND_PASSWORD"}

// loadSecret returns the value of the secret variable name, or the content of the file name_FILE names (without
// its final line break); ok is false when neither is set. Setting both is an error: which one wins would be a guess.
func loadSecret(name string, get func(string) (string, bool)) (value string, ok bool, err error) {
	v, set := get(name)
	path, fromFile := get(name + "_FILE")
	switch {
	case set && fromFile:
		return "", false, fmt.Errorf("%s and %s_FILE are both set: set one", name, name)
	case set:
		return v, true, nil
	case !fromFile:
		return "", false, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", false, fmt.Errorf("%s_FILE: %w", name, err)
	}
	return strings.TrimRight(string(b), "\r\n"), true, nil
}

// LoadProcessEnv is LoadEnv from this process's environment, which it then rids of the secret-bearing variables
// (RUNPLANE_ROOT_PASSWORD, RUNPLANE_STORE, RUNPLANE_LDAP_BIND_PASSWORD; their _FILE variants, which hold only a
// path, stay), so that no process the server starts (git, a job, podman) inherits them. It cannot rub them out of
// the memory the kernel shows in /proc/<pid>/environ: the _FILE variants keep a secret out of that too.
func (c *Config) LoadProcessEnv() error {
	defer func() {
		for _, name := range secretVars {
			os.Unsetenv(name)
		}
	}()
	return c.LoadEnv(os.LookupEnv)
}
