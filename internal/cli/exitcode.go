package cli

import (
	"errors"
	"fmt"
	"net"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/client"
)

// Exit codes of the commands that wait for jobs (run --wait, wait, logs -f), so that a script can tell a job that
// failed from one still running, one it may not see, and a server it cannot reach. Other commands exit 1 on any
// error.
const (
	exitJobFailed   = 1 // the job failed or was cancelled (and any error not listed below)
	exitStillActive = 3 // the wait ran out while the job was queued or running
	exitRefused     = 4 // no such job or task, or not allowed to see it, or not logged in
	exitUnreachable = 5 // the server could not be reached, or went away
)

// codedError is an error the command did not print yet, and the exit code it ends the program with.
type codedError struct {
	code int
	err  error
}

func (e *codedError) Error() string { return e.err.Error() }
func (e *codedError) Unwrap() error { return e.err }

// waitError gives err the exit code its cause calls for, for the commands that wait for jobs.
func waitError(err error) error {
	if err == nil {
		return nil
	}
	var ce *codedError
	if errors.As(err, &ce) {
		return err
	}
	code := exitJobFailed
	var oe *net.OpError
	switch {
	case errors.Is(err, client.ErrNotFound), errors.Is(err, client.ErrForbidden), errors.Is(err, client.ErrUnauthorized):
		code = exitRefused
	case errors.As(err, &oe):
		code = exitUnreachable
	}
	return &codedError{code: code, err: err}
}

// jobExit is the exit code a job's status calls for: 0 succeeded, exitJobFailed failed or cancelled,
// exitStillActive queued or running.
func jobExit(s api.JobStatus) int {
	switch {
	case s == api.JobSucceeded:
		return 0
	case s.Final():
		return exitJobFailed
	default:
		return exitStillActive
	}
}

// stillActive is the error for a job the wait did not see end.
func stillActive(j api.Job) error {
	return &codedError{code: exitStillActive, err: fmt.Errorf("job %s is still %s; the wait ran out", j.ID, statusOrActive(j.Status))}
}

func statusOrActive(s api.JobStatus) string {
	if s == "" {
		return "queued or running"
	}
	return string(s)
}

// exitCodesHelp documents the exit codes in the help of the commands that wait for jobs.
const exitCodesHelp = "Exit codes: 0 the job succeeded (or, without a wait, was created); 1 it failed or was cancelled\n" +
	"(or another error, such as invalid input); 3 it was still queued or running when the wait ran out;\n" +
	"4 no such job or task, or not allowed to see it; 5 the server could not be reached or went away."

// runExit is the exit code a run's status calls for, as jobExit for a job's.
func runExit(s api.RunStatus) int {
	switch {
	case s == api.RunSucceeded:
		return 0
	case s.Final():
		return exitJobFailed
	default:
		return exitStillActive
	}
}

// runStillActive is the error for a run the wait did not see end.
func runStillActive(r api.Run) error {
	s := string(r.Status)
	if s == "" {
		s = "queued or running"
	}
	return &codedError{code: exitStillActive, err: fmt.Errorf("run %s is still %s; the wait ran out", r.ID, s)}
}

// runExitCodesHelp documents the exit codes in the help of the commands that wait for workflow runs.
const runExitCodesHelp = "Exit codes: 0 the run succeeded (or, without a wait, was created); 1 it failed or was cancelled\n" +
	"(or another error, such as invalid parameters); 3 it was still queued or running when the wait ran out;\n" +
	"4 no such run or workflow, or not allowed to see it; 5 the server could not be reached or went away."
