//go:build unix

package forward_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runplane/runplane/internal/inpod/forward"
)

// The test binary, re-executed by a test, acts as runplane-forward (testMainEnv=main) or as a command that GETs a
// URL and prints the status and body (testMainEnv=get).
const testMainEnv = "FORWARD_TEST_MAIN"

func TestMain(m *testing.M) {
	switch os.Getenv(testMainEnv) {
	case "main":
		os.Setenv(testMainEnv, "get")
		os.Exit(forward.Main(os.Args[1:]))
	case "get":
		c := http.Client{Timeout: 20 * time.Second}
		resp, err := c.Get(os.Args[1])
		if err != nil {
			fmt.Println(err)
			os.Exit(3)
		}
		b, _ := io.ReadAll(resp.Body)
		fmt.Printf("%d %s", resp.StatusCode, b)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// unixServer serves h on a Unix socket in a temporary directory and returns the socket's path.
func unixServer(t *testing.T, h http.Handler) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "api.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return sock
}

var echo = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	fmt.Fprintf(w, "%s %s %s", r.Method, r.URL.Path, body)
})

// TestServe: requests to the TCP listener reach the HTTP server on the Unix socket, bodies both ways, on several
// connections at once; with the socket gone, a connection is closed without an answer.
func TestServe(t *testing.T) {
	sock := unixServer(t, echo)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() { _ = forward.Serve(ln, sock) }()
	url := "http://" + ln.Addr().String()

	errs := make(chan error, 8)
	for i := range 8 {
		go func() {
			body := strings.Repeat(fmt.Sprint(i), 100_000)
			req, _ := http.NewRequest("PUT", url+"/api/v1/metadata/outputs/x", strings.NewReader(body))
			resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Do(req)
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			got, _ := io.ReadAll(resp.Body)
			if want := "PUT /api/v1/metadata/outputs/x " + body; string(got) != want {
				errs <- fmt.Errorf("answer %.40q… (%d bytes), want %.40q… (%d bytes)", got, len(got), want, len(want))
				return
			}
			errs <- nil
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}

	if err := os.Remove(sock); err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(url + "/")
	if err == nil {
		resp.Body.Close()
		t.Errorf("GET with the socket gone: %s, want the connection closed", resp.Status)
	}
}

// TestRun: the command's exit code comes back, 128+signal for a signal, 127 and 126 when it cannot run.
func TestRun(t *testing.T) {
	notExec := filepath.Join(t.TempDir(), "not-executable")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		argv []string
		want int
	}{
		{"success", []string{"true"}, 0},
		{"failure", []string{"sh", "-c", "exit 3"}, 3},
		{"killed by SIGTERM", []string{"sh", "-c", "kill -TERM $$"}, 128 + 15},
		{"not found", []string{"no-such-command-runplane"}, 127},
		{"not executable", []string{notExec}, 126},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := forward.Run(tt.argv); got != tt.want {
				t.Errorf("Run(%q) = %d, want %d", tt.argv, got, tt.want)
			}
		})
	}
}

// runMain runs the test binary as runplane-forward with args and returns its output and exit code.
func runMain(t *testing.T, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), testMainEnv+"=main")
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return string(out), ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), 0
}

// TestMainProgram: the program serves its listen address while its command runs, and the command, which GETs
// that address, reaches the server on the socket; its exit code is the program's. Bad arguments fail with 2,
// an address it cannot listen on with 1.
func TestMainProgram(t *testing.T) {
	sock := unixServer(t, echo)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // a free port for the program

	out, code := runMain(t, "--listen", addr, "--socket", sock, "--", os.Args[0], "http://"+addr+"/api/v1/metadata/spec")
	if code != 0 || out != "200 GET /api/v1/metadata/spec " {
		t.Errorf("program: exit %d, output %q; want 0 and the server's answer", code, out)
	}

	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"no command", []string{"--listen", addr, "--socket", sock, "--"}, 2},
		{"no socket", []string{"--listen", addr, "--", "true"}, 2},
		{"unknown flag", []string{"--port", "1", "--", "true"}, 2},
		{"address in use", []string{"--listen", busy.Addr().String(), "--socket", sock, "--", "true"}, 1},
		{"command's exit code", []string{"--listen", addr, "--socket", sock, "--", "sh", "-c", "exit 7"}, 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if out, code := runMain(t, tt.args...); code != tt.want {
				t.Errorf("runplane-forward %q: exit %d (%s), want %d", tt.args, code, out, tt.want)
			}
		})
	}
}

// TestHalfClose: a client that half-closes once it has sent its request (as nc does) gets its answer, from a
// request the server did not take for abandoned.
func TestHalfClose(t *testing.T) {
	sock := unixServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(200 * time.Millisecond) // the server's background read sees the client's end meanwhile, if it came
		fmt.Fprintf(w, "context: %v", r.Context().Err())
	}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() { _ = forward.Serve(ln, sock) }()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "GET /x HTTP/1.0\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
	got, err := io.ReadAll(c)
	if err != nil || !strings.HasSuffix(string(got), "context: <nil>") {
		t.Errorf("answer %q, %v; want one from a request whose context was not canceled", got, err)
	}
}
