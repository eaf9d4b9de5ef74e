package kube_test

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/client"
	"github.com/runplane/runplane/internal/server"
)

// metaShell is shell that a busybox step sources to talk to the metadata API: get PATH prints the answer to a GET
// (busybox wget), put NAME TYPE VALUE sets an output with a PUT, which busybox wget cannot send, so it is written
// by hand to nc. Both fail the step on anything but a 2xx. nc half-closes the connection when its input ends,
// which the server takes for the client going away (the request's context ends): the request's writer holds
// nc's input open until the status line is back.
const metaShell = `set -e
get() { wget -q -O- --header "Authorization: Bearer $RUNPLANE_STEP_TOKEN" "$RUNPLANE_METADATA_URL$1"; }
value() { sed -n 's/.*"value":"\([^"]*\)".*/\1/p'; }
put() {
	u=${RUNPLANE_METADATA_URL#http://}; hp=${u%%/*}; base=/${u#*/}
	held=$(mktemp -u); mkfifo "$held"
	status=$({ printf 'PUT %s/outputs/%s HTTP/1.0\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s' \
		"$base" "$1" "$hp" "$RUNPLANE_STEP_TOKEN" "$2" "${#3}" "$3"; read -r _ <"$held"; } |
		nc "${hp%:*}" "${hp##*:}" | { IFS= read -r line || true; echo >"$held"; cat >/dev/null; printf '%s' "$line"; })
	rm -f "$held"
	echo "put $1: $status"
	case "$status" in "HTTP/1."?" 2"*) ;; *) return 1 ;; esac
}
`

// dagWorkflow fans out from a to b, c and multi and back in to d. Outputs travel every way a step has: a's ^JSON
// result into b's env template; b's PUT through the metadata API into d's env; a's output and c's spec read back
// with GETs; a file handed between the two containers of multi, then PUT. never's when is false, so it and
// its dependent after-never are skipped; rescue runs because its when asks whether never was skipped.
func dagWorkflow(image string) api.Workflow {
	return api.Workflow{
		Name:       "dag",
		Parameters: json.RawMessage(`{"type":"object","properties":{"who":{"type":"string","default":"world"}}}`),
		Steps: []api.Step{
			{Name: "a", Image: image, Command: sh(`echo '^JSON {"n": 21, "word": "pods"} ^JSON'`)},
			{Name: "b", Image: image, Env: api.EnvVars{{Name: "N", Value: "${outputs.a.n}"}}, Command: sh(metaShell +
				`put doubled application/json "$((N * 2))"`)},
			{Name: "c", DependsOn: api.Strings{"a"}, Image: image, Spec: json.RawMessage(`{"greeting": "hello ${parameters.who}"}`),
				Command: sh(metaShell + `word=$(get /outputs/a/word | value); greeting=$(get '/spec?q=greeting' | value)
printf '^JSON {"word": "%s", "greeting": "%s"} ^JSON\n' "$word" "$greeting"`)},
			{Name: "multi", DependsOn: api.Strings{"a"}, Containers: []api.Container{
				{Name: "write", Image: image, Command: sh(`echo "from the first container" > "$RUNPLANE_OUTPUT_DIR/note.txt"`)},
				{Name: "read", Image: image, Command: sh(metaShell + `echo "token: $RUNPLANE_STEP_TOKEN"
put note text/plain "$(cat /runplane/output/note.txt)"`)},
			}},
			{Name: "never", DependsOn: api.Strings{"a"}, When: api.Conditions{"${parameters.who == 'nobody'}"}, Image: image, Command: sh("echo never")},
			{Name: "after-never", DependsOn: api.Strings{"never"}, Image: image, Command: sh("echo after")},
			{Name: "rescue", DependsOn: api.Strings{"never"}, When: api.Conditions{"${steps.never.skipped}"}, Image: image,
				Command: sh(`echo '^JSON {"rescued": true} ^JSON'`)},
			{Name: "d", DependsOn: api.Strings{"b", "c", "multi"}, Image: image, Env: api.EnvVars{
				{Name: "D", Value: "${outputs.b.doubled}"}, {Name: "G", Value: "${outputs.c.greeting}"}, {Name: "NOTE", Value: "${outputs.multi.note}"},
			}, Command: sh(`printf '^JSON {"sum": "%s|%s|%s"} ^JSON\n' "$D" "$G" "$NOTE"`)},
		},
	}
}

// workflowServer is a server with the Kubernetes executor listening on the address pods reach this host at
// (RUNPLANE_KUBE_HOST_IP): its advertise URL, where steps call the metadata API, is that listen address.
func (e env) workflowServer(t testing.TB, ns string, edit func(*server.Config)) *testServer {
	t.Helper()
	return e.newServer(t, ns, func(c *server.Config) {
		c.Listen = net.JoinHostPort(e.HostIP, "0")
		if edit != nil {
			edit(c)
		}
	})
}

// TestWorkflow runs a DAG workflow on the cluster, each step a pod that talks to the metadata API from inside:
// fan-out and fan-in, outputs passed through ^JSON results, env templates, metadata API GETs and PUTs, a
// multi-container step (one pod, its files kept), and conditional steps skipped and run. Every step's status and
// outputs are checked, and no step token is in a pod spec or a log.
func TestWorkflow(t *testing.T) {
	e := needCluster(t)
	ns := e.Namespace(t)
	// Under an image allowlist, as the chart advises: the steps' image is on it, runplane's own is not.
	s := e.workflowServer(t, ns, func(c *server.Config) { c.ImageAllowlist = []string{e.Busybox} })
	c := s.client(t)
	if _, err := c.CreateWorkflow(t.Context(), dagWorkflow(e.Busybox)); err != nil {
		t.Fatalf("create workflow: %v", err)
	}
	run, finished, err := c.StartRun(t.Context(), "dag", []byte(`{"who":"kubernetes"}`), client.SubmitOptions{Wait: wait(4 * time.Minute)})
	if err != nil || !finished {
		t.Fatalf("run: finished %v, %v", finished, err)
	}
	steps := map[string]api.StepRun{}
	for _, st := range run.Steps {
		steps[st.Name] = st
	}
	if run.Status != api.RunSucceeded {
		for _, st := range run.Steps {
			if st.Job != "" && st.Status != api.StepSucceeded {
				t.Logf("step %s (%s): log %q", st.Name, st.Status, readLog(t, c, st.Job))
			}
		}
		t.Fatalf("run %s: %s (%s); want succeeded; steps %+v", run.ID, run.Status, run.Reason, run.Steps)
	}

	wantStatus := map[string]api.StepStatus{
		"a": api.StepSucceeded, "b": api.StepSucceeded, "c": api.StepSucceeded, "multi": api.StepSucceeded,
		"never": api.StepSkipped, "after-never": api.StepSkipped, "rescue": api.StepSucceeded, "d": api.StepSucceeded,
	}
	for name, want := range wantStatus {
		st := steps[name]
		if st.Status != want {
			t.Errorf("step %s: %s, want %s", name, st.Status, want)
		}
		if ran := st.Job != ""; ran != (want == api.StepSucceeded) {
			t.Errorf("step %s: job %q; want a job only for steps that ran", name, st.Job)
		}
	}
	if len(steps) != len(wantStatus) {
		t.Errorf("run has %d steps, want %d: %+v", len(steps), len(wantStatus), run.Steps)
	}
	if !strings.Contains(steps["never"].Message, "nobody") {
		t.Errorf("step never: message %q, want its when named", steps["never"].Message)
	}
	wantOutputs := []struct{ step, name, want string }{
		{"a", "n", `21`},
		{"a", "word", `"pods"`},
		{"b", "doubled", `42`},                          // PUT through the metadata API (nc), from an env template
		{"c", "word", `"pods"`},                         // GET of a's output
		{"c", "greeting", `"hello kubernetes"`},         // GET of its spec, templates resolved
		{"multi", "note", `"from the first container"`}, // a file from the pod's first container, PUT by the second
		{"rescue", "rescued", `true`},
		{"d", "sum", `"42|hello kubernetes|from the first container"`},
	}
	for _, o := range wantOutputs {
		if got := string(steps[o.step].Outputs[o.name]); got != o.want {
			t.Errorf("output %s.%s = %s, want %s", o.step, o.name, got, o.want)
		}
	}

	// Each step is an ordinary job naming its run and step; multi ran its two containers in one pod.
	multi, err := c.GetJob(t.Context(), steps["multi"].Job)
	if err != nil {
		t.Fatal(err)
	}
	if multi.Run != run.ID || multi.Step != "multi" {
		t.Errorf("multi's job: run %q step %q, want %s, multi", multi.Run, multi.Step, run.ID)
	}
	if len(multi.Containers) != 2 || multi.Containers[0].Name != "write" || multi.Containers[1].Name != "read" {
		t.Errorf("multi's containers: %+v, want write then read", multi.Containers)
	}
	for _, cs := range multi.Containers {
		if cs.ExitCode == nil || *cs.ExitCode != 0 {
			t.Errorf("multi's container %s: exit code %v, want 0", cs.Name, cs.ExitCode)
		}
	}
	// The file the first container wrote is kept with the job.
	if got := apiGet(t, s, c, "/api/v1/jobs/"+multi.ID+"/output/note.txt"); got != "from the first container\n" {
		t.Errorf("kept file note.txt of multi = %q, want the first container's line", got)
	}

	// The step token is a Secret's: never a value in a pod spec, masked in the log of a step that prints it.
	pods, err := e.Client.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{LabelSelector: "app.kubernetes.io/managed-by=runplane"})
	if err != nil {
		t.Fatal(err)
	}
	if ran := 6; len(pods.Items) != ran {
		t.Errorf("%d pods, want %d (one per step that ran)", len(pods.Items), ran)
	}
	for _, p := range pods.Items {
		checkStepPod(t, s, p)
	}
	if log := readLog(t, c, multi.ID); !strings.Contains(log, "token: ") || strings.Contains(log, "eyJ") {
		t.Errorf("multi's log %q: want the token line with the token masked", log)
	}
}

// checkStepPod checks that a step's pod gets its token from a Secret, in every container that runs the step, and
// the metadata API's URL as the server advertises it.
func checkStepPod(t *testing.T, s *testServer, p corev1.Pod) {
	t.Helper()
	js, err := json.Marshal(p.Spec)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(js), "eyJ") { // a JWT's header
		t.Errorf("pod %s: its spec holds a token: %s", p.Name, js)
	}
	wantURL := s.url + "/api/v1/metadata"
	for _, ctr := range append(p.Spec.InitContainers, p.Spec.Containers...) {
		if ctr.Name == "checkout" || ctr.Name == "keep" {
			continue
		}
		var tokenFromSecret, url bool
		for _, ev := range ctr.Env {
			switch ev.Name {
			case api.EnvStepToken:
				tokenFromSecret = ev.Value == "" && ev.ValueFrom != nil && ev.ValueFrom.SecretKeyRef != nil
			case api.EnvMetadataURL:
				url = ev.Value == wantURL
			}
		}
		if !tokenFromSecret || !url {
			t.Errorf("pod %s container %s: %s from a Secret %v, %s=%s %v; want both", p.Name, ctr.Name,
				api.EnvStepToken, tokenFromSecret, api.EnvMetadataURL, wantURL, url)
		}
	}
}

// apiGet is the body of a GET of path on s as c's user; it fails the test on anything but 200.
func apiGet(t *testing.T, s *testServer, c *client.Client, path string) string {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), "GET", s.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+c.Token())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %s", path, resp.Status, b)
	}
	return string(b)
}

// sh is a step command: sh -c script.
func sh(script string) api.Strings { return api.Strings{"sh", "-c", script} }
