package server

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"testing"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/gitsource/gittest"
)

// Scripts of the test repository.
var repoFiles = map[string]string{
	// hello.sh greets and returns its input as a ^JSON result.
	"hello.sh": `#!/bin/sh
echo "hello from $RUNPLANE_TASK as $RUNPLANE_OWNER"
echo "^JSON"
printf '{"ok":true,"input":%s}\n' "${EXTRA_VARS:-null}"
echo "^JSON"
`,
	// fail.sh fails with exit code 3.
	"fail.sh": "#!/bin/sh\necho failing\nexit 3\n",
	// secret.sh checks, without printing it, that API_KEY reaches the job as env and as a file with the value
	// whose SHA-256 is $1.
	"secret.sh": `#!/bin/sh
sum() { sha256sum | cut -d' ' -f1; }
[ "$(printf %s "$API_KEY" | sum)" = "$1" ] || { echo "secret env mismatch"; exit 1; }
dir=${RUNPLANE_SECRET_DIR:-/etc/secret}
[ "$(sum < "$dir/API_KEY")" = "$1" ] || { echo "secret file mismatch"; exit 1; }
echo "secrets ok"
`,
}

// newRepoURL makes a bare repository with repoFiles and returns its file:// URL.
func newRepoURL(t *testing.T) string {
	t.Helper()
	return gittest.URL(gittest.NewRepo(t, repoFiles))
}

func sha256Hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func (ts *testServer) createRunner(t *testing.T, r api.Runner) api.Runner {
	t.Helper()
	var got api.Runner
	ts.do(t, req{method: "POST", path: "/api/v1/runners", json: r}).want(t, http.StatusOK).decode(t, &got)
	return got
}

func (ts *testServer) createTask(t *testing.T, task api.Task) api.Task {
	t.Helper()
	var got api.Task
	ts.do(t, req{method: "POST", path: "/api/v1/tasks", json: task}).want(t, http.StatusOK).decode(t, &got)
	return got
}

// withRepo creates runner "repo" on a fresh test repository.
func (ts *testServer) withRepo(t *testing.T) {
	t.Helper()
	ts.createRunner(t, api.Runner{Name: "repo", GitURL: newRepoURL(t)})
}
