package cli

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// openPTY returns the two ends of a new pseudo-terminal.
func openPTY(t *testing.T) (master, tty *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { master.Close() })
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlock pty: %v", err)
	}
	n, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("pty number: %v", err)
	}
	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open pty: %v", err)
	}
	t.Cleanup(func() { tty.Close() })
	return master, tty
}

// TestPasswordNotEchoed types a password into a real terminal with echo disabled, then a marker with echo
// restored, and checks that only the marker came back.
func TestPasswordNotEchoed(t *testing.T) {
	master, tty := openPTY(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if !isTerminal(int(tty.Fd())) || isTerminal(int(r.Fd())) {
		t.Fatalf("isTerminal: tty %v, pipe %v; want true, false", isTerminal(int(tty.Fd())), isTerminal(int(r.Fd())))
	}
	a := &app{stdin: tty}
	if !a.stdinTerminal() {
		t.Fatal("stdinTerminal() = false for a terminal")
	}

	restore, err := disableEcho(int(tty.Fd()))
	if err != nil {
		t.Fatalf("disableEcho: %v", err)
	}
	if _, err := master.WriteString("s3cret\n"); err != nil {
		t.Fatal(err)
	}
	line, err := a.readLine()
	restore()
	if err != nil || line != "s3cret" {
		t.Fatalf("readLine = %q, %v; want s3cret", line, err)
	}
	if _, err := master.WriteString("marker\n"); err != nil {
		t.Fatal(err)
	}
	if line, err := a.readLine(); err != nil || line != "marker" {
		t.Fatalf("readLine = %q, %v; want marker", line, err)
	}
	var echoed strings.Builder
	out := bufio.NewReader(master)
	for !strings.Contains(echoed.String(), "marker") {
		b, err := out.ReadByte()
		if err != nil {
			t.Fatalf("read echo: %v (so far %q)", err, echoed.String())
		}
		echoed.WriteByte(b)
	}
	if strings.Contains(echoed.String(), "s3cret") {
		t.Errorf("the terminal echoed the password: %q", echoed.String())
	}
}
