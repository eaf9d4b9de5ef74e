//go:build unix

package forward

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"github.com/runplane/runplane/internal/inpod/pid1"
)

// Name is the program's name: the runplane-pid1 (or a static runplane) binary mounted into a container under this
// name runs Main.
const Name = "runplane-forward"

// forwarded are the signals passed on to the command's process group: catatonit, PID 1 of the container, hands
// them to this process, its child.
var forwarded = []os.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT}

// Main is the program `runplane-forward --listen ADDR --socket PATH -- COMMAND [ARG...]`. It returns the exit
// code: COMMAND's, or 2 for bad arguments, 1 when it cannot listen, 126 or 127 when COMMAND cannot be run.
func Main(args []string) int {
	var listen, socket string
	for len(args) > 0 && args[0] != "--" {
		if len(args) < 2 {
			return usage(fmt.Errorf("%s: no value", args[0]))
		}
		switch args[0] {
		case "--listen":
			listen = args[1]
		case "--socket":
			socket = args[1]
		default:
			return usage(fmt.Errorf("unknown flag %s", args[0]))
		}
		args = args[2:]
	}
	if len(args) < 2 || listen == "" || socket == "" {
		return usage(errors.New("want --listen, --socket and a command after --"))
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", Name, err)
		return 1
	}
	go Serve(ln, socket)
	return Run(args[1:])
}

func usage(err error) int {
	fmt.Fprintf(os.Stderr, "%s: %v\nusage: %s --listen ADDR --socket PATH -- COMMAND [ARG...]\n", Name, err, Name)
	return 2
}

// Serve accepts connections on ln until it is closed, and copies each, both ways, to a new connection to the Unix
// socket at socket (dialled per connection: a server that restarts makes its socket anew). A connection the
// socket refuses is closed.
func Serve(ln net.Listener, socket string) error {
	for {
		c, err := ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return err
		}
		go proxy(c, socket)
	}
}

// proxy copies c to a connection to socket and back until the socket's side ends. The end of what c sends is
// not passed on: Go's HTTP server takes a half-closed connection for a client gone and cancels its request, and
// clients such as nc half-close once they have sent it.
func proxy(c net.Conn, socket string) {
	defer c.Close()
	u, err := net.DialTimeout("unix", socket, 10*time.Second)
	if err != nil {
		return
	}
	defer u.Close()
	go func() { _, _ = io.Copy(u, c) }()
	_, _ = io.Copy(c, u)
}

// Run runs argv (argv[0] looked up in PATH) with this process's stdio, environment and working directory, in a
// process group of its own to which it forwards SIGTERM, SIGINT, SIGHUP and SIGQUIT, and returns its exit code:
// 128+signal if a signal killed it, 127 if it is not found, 126 if it cannot be executed.
func Run(argv []string) int {
	fail := func(code int, err error) int {
		fmt.Fprintf(os.Stderr, "%s: %v\n", Name, err)
		return code
	}
	path, err := exec.LookPath(argv[0])
	switch {
	case errors.Is(err, fs.ErrPermission):
		return fail(126, err)
	case err != nil && !errors.Is(err, exec.ErrDot):
		return fail(127, err)
	}
	// Notify before the command starts: a signal that arrives meanwhile waits in the channel and is forwarded.
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, forwarded...)
	defer signal.Stop(sigs)
	cmd := &exec.Cmd{Path: path, Args: argv, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true}}
	if err := cmd.Start(); err != nil {
		code := 1
		switch {
		case errors.Is(err, syscall.ENOENT):
			code = 127
		case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.ENOEXEC):
			code = 126
		}
		return fail(code, err)
	}
	done := make(chan struct{})
	defer close(done)
	go pid1.Forward(sigs, cmd.Process.Pid, done)
	err = cmd.Wait()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	}
	return fail(1, err)
}
