package cli

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"testing"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/client"
)

func TestPrintError(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"plain", fmt.Errorf("boom"), "Error: boom\n"},
		{"server error", &client.Error{StatusCode: 404, Message: `runner "x" not found`}, "Error: runner \"x\" not found (404)\n"},
		{"fields not in the message", &client.Error{StatusCode: 400, Message: "input does not match the task schema",
			Fields: []api.FieldError{{Path: "/a", Message: "want integer"}, {Path: "", Message: "missing property \"b\""}}},
			"Error: input does not match the task schema (400)\n  /a: want integer\n  (input): missing property \"b\"\n"},
		{"fields already in the message", &client.Error{StatusCode: 400, Message: "input does not match: at /a: want integer",
			Fields: []api.FieldError{{Path: "/a", Message: "want integer"}}},
			"Error: input does not match: at /a: want integer (400)\n"},
		{"server down", fmt.Errorf("GET http://127.0.0.1:1/api/v1/runners: %w", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}),
			"Error: GET http://127.0.0.1:1/api/v1/runners: dial tcp: connection refused\nIs the server running? Name it with --server or RUNPLANE_SERVER, or run \"runplane login\".\n"},
		{"wrapped 401", fmt.Errorf("apply f (document 1): %w", &client.Error{StatusCode: 401, Message: "token expired"}),
			"Error: apply f (document 1): token expired (401)\nYour session may have expired: run \"runplane login\" again.\n"},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		(&app{stderr: &buf}).printError(tt.err)
		if got := buf.String(); got != tt.want {
			t.Errorf("%s: printError wrote\n%q\nwant\n%q", tt.name, got, tt.want)
		}
	}
}
