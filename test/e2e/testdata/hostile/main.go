// Command hostile is the job of the hostile-job suite (test/e2e/hostile_test.go): built static, committed into
// the attacker's repository by the test, and run by a task as `./hostile`. It tries every way out of a job that
// the suite knows and prints one line per attempt:
//
//	HOSTILE <attack> blocked <what stopped it>
//	HOSTILE <attack> BREACH <what it got>
//
// Its targets come as JSON in EXTRA_VARS. It never prints what it read, only how much, so a breach does not leak
// into the test's log.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

type targets struct {
	ServerPID   int      `json:"server_pid"`
	DataDir     string   `json:"data_dir"`
	HostMarker  string   `json:"host_marker"`  // a host path to create
	Leftover    string   `json:"leftover"`     // env value of a process to leave behind
	Secrets     []string `json:"secrets"`      // values that must not be found anywhere the job can read
	ExtraPaths  []string `json:"extra_paths"`  // more host paths to try to read
	Mode        string   `json:"mode"`         // "attack" (default) or "killall"
	ServerPorts []int    `json:"server_ports"` // unused: the API is reachable, as it is from anywhere on the host
}

func report(name string, err error, breach string) {
	if err != nil {
		fmt.Printf("HOSTILE %s blocked %v\n", name, err)
		return
	}
	fmt.Printf("HOSTILE %s BREACH %s\n", name, breach)
}

func main() {
	var t targets
	if err := json.Unmarshal([]byte(os.Getenv("EXTRA_VARS")), &t); err != nil {
		fmt.Println("hostile: bad EXTRA_VARS:", err)
		os.Exit(2)
	}
	if t.Mode == "killall" {
		// Everything this job may signal: in a sandbox, its own processes only.
		err := syscall.Kill(-1, syscall.SIGKILL)
		fmt.Println("hostile: kill(-1) returned", err)
		return
	}
	readFiles(t)
	scanProc(t)
	attackServer(t)
	writeFiles(t)
	privileges()
	leaveBehind(t)
	fmt.Println("HOSTILE done")
}

// readFiles tries the server's keys, database, logs and git cache.
func readFiles(t targets) {
	d := t.DataDir
	for _, p := range append([]string{
		filepath.Join(d, "jwt.key"), filepath.Join(d, "secret.key"), filepath.Join(d, "runplane.db"),
		filepath.Join(d, "runplane.db-wal"),
	}, t.ExtraPaths...) {
		b, err := os.ReadFile(p)
		report("read:"+p, err, fmt.Sprintf("read %d bytes", len(b)))
	}
	for _, dir := range []string{d, filepath.Join(d, "logs"), filepath.Join(d, "git"), filepath.Join(d, "git", "mirrors"), "/dev/shm"} {
		entries, err := os.ReadDir(dir)
		if err == nil && dir == "/dev/shm" && len(entries) == 0 {
			err = fmt.Errorf("empty: the job's own")
		}
		report("list:"+dir, err, fmt.Sprintf("%d entries", len(entries)))
	}
	mirrors, _ := filepath.Glob(filepath.Join(d, "git", "mirrors", "*", "config"))
	for _, m := range mirrors {
		f, err := os.OpenFile(m, os.O_WRONLY|os.O_APPEND, 0)
		if err == nil {
			f.Close()
		}
		report("plant-git-config:"+m, err, "opened for writing")
	}
}

// scanProc reads every process it can see for the server's environment and other jobs' secrets.
func scanProc(t targets) {
	procs, _ := filepath.Glob("/proc/[0-9]*")
	self := os.Getpid()
	var found []string
	for _, p := range procs {
		pid, _ := strconv.Atoi(filepath.Base(p))
		if b, err := os.ReadFile(p + "/environ"); err == nil {
			var env string
			for _, kv := range strings.Split(string(b), "\x00") {
				if !strings.HasPrefix(kv, "EXTRA_VARS=") { // this job's input names the secrets to look for
					env += kv + "\x00"
				}
			}
			if strings.Contains(env, "RUNPLANE_ROOT_PASSWORD") || strings.Contains(env, "RUNPLANE_LISTEN") {
				found = append(found, fmt.Sprintf("server environment in %s", p))
			}
			for _, s := range t.Secrets {
				if strings.Contains(env, s) {
					found = append(found, fmt.Sprintf("a secret in %s/environ", p))
				}
			}
		}
		if pid == self {
			continue
		}
		secrets, _ := filepath.Glob(p + "/root/etc/secret/*")
		for _, f := range secrets {
			if b, err := os.ReadFile(f); err == nil {
				for _, s := range t.Secrets {
					if strings.Contains(string(b), s) {
						found = append(found, "a secret in "+f)
					}
				}
			}
		}
		if cwd, err := os.Readlink(p + "/cwd"); err == nil && !strings.HasPrefix(cwd, "/workspace") && cwd != "/" {
			found = append(found, fmt.Sprintf("%s/cwd is %s", p, cwd))
		}
	}
	var err error
	if len(found) == 0 {
		err = fmt.Errorf("%d processes visible, none of them the server's or another job's", len(procs))
	}
	report("scan-proc", err, strings.Join(found, "; "))
	var hits []string
	for _, dir := range []string{"/tmp", "/var/tmp", "/dev/shm", "/run", "/", "/workspace/.."} {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if b, err := os.ReadFile(filepath.Join(dir, e.Name())); err == nil {
				for _, s := range t.Secrets {
					if strings.Contains(string(b), s) {
						hits = append(hits, filepath.Join(dir, e.Name()))
					}
				}
			}
		}
	}
	err = nil
	if len(hits) == 0 {
		err = fmt.Errorf("no other job's secret in /tmp, /var/tmp, /dev/shm, /run, /")
	}
	report("scan-files", err, strings.Join(hits, ", "))
}

// attackServer goes for the server process itself.
func attackServer(t targets) {
	p := "/proc/" + strconv.Itoa(t.ServerPID)
	b, err := os.ReadFile(p + "/environ")
	report("server-environ", err, fmt.Sprintf("read %d bytes", len(b)))
	b, err = os.ReadFile(p + "/cmdline")
	report("server-cmdline", err, fmt.Sprintf("read %q", b))
	f, err := os.OpenFile(p+"/mem", os.O_WRONLY, 0)
	if err == nil {
		f.Close()
	}
	report("server-mem-write", err, "opened for writing")
	err = syscall.PtraceAttach(t.ServerPID)
	if err == nil {
		_ = syscall.PtraceDetach(t.ServerPID)
	}
	report("server-ptrace", err, "attached")
	report("server-signal", syscall.Kill(t.ServerPID, 0), "may signal it")
	link, err := os.Readlink(p + "/root")
	report("server-root", err, "root is "+link)
}

// writeFiles tries to write outside the job's workspace.
func writeFiles(t targets) {
	for _, p := range []string{
		filepath.Join(t.DataDir, "pwned"), t.HostMarker, "/usr/pwned", "/etc/pwned", "/pwned", "/etc/secret/pwned",
	} {
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err == nil {
			f.Close()
		}
		report("write:"+p, err, "created")
	}
}

// privileges tries to become more than the job is.
func privileges() {
	report("setuid-0", syscall.Setuid(0), "now uid 0")
	report("mount", syscall.Mount("tmpfs", "/tmp", "tmpfs", 0, ""), "mounted a tmpfs")
	report("mknod-disk", syscall.Mknod("/tmp/disk", syscall.S_IFBLK|0o600, 8<<8), "made a block device")
	report("unshare-user", syscall.Unshare(syscall.CLONE_NEWUSER), "in a new user namespace")
	// The kernel keyrings are not namespaced: keys a job stored there would outlive it, for the next job.
	_, _, errno := syscall.Syscall(syscall.SYS_KEYCTL, 0 /* KEYCTL_GET_KEYRING_ID */, ^uintptr(3) /* KEY_SPEC_USER_KEYRING */, 1)
	report("keyring", errnoErr(errno), "reached the user keyring")
	if err := os.MkdirAll("/tmp/jail", 0o755); err == nil {
		report("chroot", syscall.Chroot("/tmp/jail"), "chrooted")
	}
	f, err := os.OpenFile("/proc/sysrq-trigger", os.O_WRONLY, 0)
	if err == nil {
		f.Close()
	}
	report("sysrq", err, "opened /proc/sysrq-trigger")
	f, err = os.OpenFile("/sys/fs/cgroup/cgroup.procs", os.O_WRONLY, 0)
	if err == nil {
		f.Close()
	}
	report("cgroup-escape", err, "opened the root cgroup")
}

func errnoErr(e syscall.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}

// leaveBehind starts a process in a session of its own that outlives this one, if the job lets it.
func leaveBehind(t targets) {
	if t.Leftover == "" {
		return
	}
	cmd := exec.Command("/bin/sh", "-c", "sleep 300 </dev/null >/dev/null 2>&1 &")
	cmd.Env = append(os.Environ(), "RP_LEFTOVER="+t.Leftover)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err := cmd.Run()
	fmt.Println("hostile: left a process behind in a new session:", err)
}
