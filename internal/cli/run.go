package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/client"
)

// waitFlag is --wait[=DURATION]: absent leaves waiting to the task, bare waits as long as the server allows.
type waitFlag struct {
	set bool
	d   time.Duration
}

func (w *waitFlag) String() string {
	if !w.set {
		return ""
	}
	return w.d.String()
}

func (w *waitFlag) Set(s string) error {
	d, err := api.ParseDuration(s)
	if err != nil {
		return err
	}
	if d < 0 || d > api.MaxSyncTimeout {
		return fmt.Errorf("want a duration between 0s and %s", api.MaxSyncTimeout)
	}
	w.set, w.d = true, d
	return nil
}

func (w *waitFlag) Type() string { return "duration" }

func (a *app) runCommand() *cobra.Command {
	var input, idemKey, output string
	var wait waitFlag
	cmd := &cobra.Command{
		Use:   "run TASK [--input JSON|@FILE|@-] [--wait[=DURATION]]",
		Short: "Run a task as a job (or a workflow: runplane run workflow NAME)",
		Long: "Submit a job of TASK with an input (the script's EXTRA_VARS) checked against the task's schema.\n\n" +
			"When the job finishes while the server waits (a synchronous task, or --wait), its result (json_data)\n" +
			"is printed on stdout and its status on stderr; a job that did not succeed also prints the end of its log.\n" +
			"Otherwise the job id is printed; follow it with \"runplane logs -f ID\".\n\n" +
			exitCodesHelp,
		Example: "  runplane run hello --input '{\"name\": \"world\"}' --wait\n" +
			"  runplane run backup --input @params.json\n  echo '{}' | runplane run hello --input @- -o json",
		Args:              checkArgs(cobra.ExactArgs(1)),
		ValidArgsFunction: a.completeNames(1, taskNames),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(cmd, output); err != nil {
				return err
			}
			body, err := a.readInput(input)
			if err != nil {
				return err
			}
			c, err := a.connect()
			if err != nil {
				return err
			}
			job, finished, err := c.Submit(cmd.Context(), args[0], body, submitOptions(wait, idemKey))
			return a.submitted(cmd, c, output, wait, job, finished, err)
		},
	}
	cmd.Flags().StringVarP(&input, "input", "i", "", "job input: JSON text, @FILE, or @- for stdin")
	addSubmitFlags(cmd, &wait, &idemKey, &output)
	cmd.AddCommand(a.runWorkflowCommand())
	return cmd
}

// addSubmitFlags adds the flags of the commands that submit jobs (run, rerun): --wait, --idempotency-key, -o.
func addSubmitFlags(cmd *cobra.Command, wait *waitFlag, idemKey, output *string) {
	f := cmd.Flags()
	f.Var(wait, "wait", "wait up to DURATION for the job to finish (bare --wait: "+api.MaxSyncTimeout.String()+")")
	f.Lookup("wait").NoOptDefVal = api.MaxSyncTimeout.String()
	f.StringVar(idemKey, "idempotency-key", "", "submitting again with the same key returns the same job")
	addOutputFlag(cmd, output)
}

// submitOptions are a submission's options from its flags.
func submitOptions(wait waitFlag, idemKey string) client.SubmitOptions {
	opts := client.SubmitOptions{IdempotencyKey: idemKey}
	if wait.set {
		opts.Wait = &wait.d
	}
	return opts
}

// readInput resolves --input: literal JSON, @FILE or @-. It must be JSON; empty means no input.
func (a *app) readInput(v string) ([]byte, error) {
	var b []byte
	switch {
	case v == "@-":
		var err error
		if b, err = io.ReadAll(a.stdinReader()); err != nil {
			return nil, fmt.Errorf("--input: read stdin: %w", err)
		}
	case strings.HasPrefix(v, "@"):
		var err error
		if b, err = os.ReadFile(v[1:]); err != nil {
			return nil, fmt.Errorf("--input: %w", err)
		}
	default:
		b = []byte(v)
	}
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return nil, nil
	}
	if !json.Valid(b) {
		return nil, fmt.Errorf("--input is not valid JSON")
	}
	return b, nil
}

// submitted reports a submission's answer (run, rerun): the finished job, or the created one's id; the exit code
// says how the job ended, or that the wait asked for ran out.
func (a *app) submitted(cmd *cobra.Command, c *client.Client, output string, wait waitFlag, job api.Job, finished bool, err error) error {
	if err != nil {
		return waitError(err)
	}
	if !finished {
		if err := a.printCreated(cmd, output, job); err != nil {
			return err
		}
		if wait.set && wait.d > 0 {
			return stillActive(job)
		}
		return nil
	}
	return a.printFinished(cmd, c, output, job)
}

func (a *app) printCreated(cmd *cobra.Command, output string, job api.Job) error {
	if !isTable(output) {
		return a.print(cmd, output, api.NewJobCreated(job.ID, ""), nil)
	}
	fmt.Fprintln(a.stdout, job.ID)
	fmt.Fprintf(a.stderr, "job %s created; follow it with \"runplane logs -f %s\"\n", job.ID, job.ID)
	return nil
}

// printFinished prints a finished job; a job that did not succeed prints the tail of its log on stderr and makes
// the command exit 1.
func (a *app) printFinished(cmd *cobra.Command, c *client.Client, output string, job api.Job) error {
	if !isTable(output) {
		if err := a.print(cmd, output, job, nil); err != nil {
			return err
		}
	} else {
		if len(job.JSONData) > 0 {
			var buf bytes.Buffer
			if err := json.Indent(&buf, job.JSONData, "", "  "); err != nil {
				buf.Reset()
				buf.Write(job.JSONData)
			}
			fmt.Fprintf(a.stdout, "%s\n", buf.Bytes())
		}
	}
	fmt.Fprintln(a.stderr, jobSummary(job))
	if job.Status != api.JobSucceeded {
		a.printLogTail(cmd.Context(), c, job.ID)
		return exitError(jobExit(job.Status))
	}
	return nil
}

// jobSummary is a one-line account of a finished job: `job hello-x7k2p failed (exit code 2): reason`.
func jobSummary(j api.Job) string {
	s := fmt.Sprintf("job %s %s", j.ID, j.Status)
	if j.ExitCode != nil {
		s += fmt.Sprintf(" (exit code %d)", *j.ExitCode)
	}
	if j.Reason != "" {
		s += ": " + j.Reason
	}
	return s
}
