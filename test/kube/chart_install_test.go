package kube_test

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/client"
	"github.com/runplane/runplane/internal/executor/kubeexec/kubetest"
	"github.com/runplane/runplane/internal/gitsource/gittest"
)

// TestChartInstall installs the chart with the test image into a fresh namespace, its data dir on a hostPath
// volume bound through the chart's claim, and runs a job from outside through the Service: login as root with
// the chart's password, a runner whose repository this test serves, a synchronous task, its result and log. An
// upgrade keeps the password; a new server pod finds the job on the volume.
func TestChartInstall(t *testing.T) {
	e := needCluster(t)
	h := needHelm(t)
	kubectl := needKubectl(t)
	ns := e.Namespace(t)
	class, dataDir := e.hostPathVolume(t, ns, chartName)

	colon := strings.LastIndex(e.Image, ":")
	if colon < strings.LastIndex(e.Image, "/") || strings.Contains(e.Image, "@") {
		t.Fatalf("RUNPLANE_KUBE_IMAGE=%q: want repository:tag", e.Image)
	}
	valuesFile := writeValues(t, installValues(e.Image[:colon], e.Image[colon+1:], class, e.Busybox))
	t.Cleanup(func() {
		if t.Failed() {
			dumpNamespace(t, kubectl, ns)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		if _, err := h.run(ctx, "uninstall", "rp", "--namespace", ns, "--wait", "--timeout", "2m"); err != nil && !strings.Contains(err.Error(), "not found") {
			t.Errorf("uninstall: %v", err)
		}
		// The server's pod writes into the volume's directory, which is removed after this.
		kubetest.WaitFor(t, 2*time.Minute, "the server's pods to be gone", func() bool {
			pods, err := e.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/instance=rp"})
			return err == nil && len(pods.Items) == 0
		})
	})
	if _, err := h.run(t.Context(), "install", "rp", chartDir, "--namespace", ns, "--values", valuesFile, "--wait", "--timeout", "5m"); err != nil {
		t.Fatal(err)
	}

	pvc, err := e.Client.CoreV1().PersistentVolumeClaims(ns).Get(t.Context(), chartName, metav1.GetOptions{})
	if err != nil || pvc.Status.Phase != corev1.ClaimBound || pvc.Spec.VolumeName != class {
		t.Fatalf("claim %s: %v, %+v; want bound to the volume %s", chartName, err, pvc.Status, class)
	}
	secret, err := e.Client.CoreV1().Secrets(ns).Get(t.Context(), chartName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	password := string(secret.Data["root-password"])

	url, stopForward := portForward(t, kubectl, ns, "svc/"+chartName, 8080)
	c := chartLogin(t, url, password)
	bare := gittest.NewRepo(t, map[string]string{
		"hello.txt": "hello from git",
		"job.sh":    "#!/bin/sh\necho \"checked out: $(cat hello.txt)\"\necho '^JSON {\"ok\":true} ^JSON'\n",
	})
	gitURL := gittest.ServeHTTPAt(t, e.HostIP, bare, "", "")
	if _, err := c.CreateRunner(t.Context(), api.Runner{Name: "chart", Image: e.Busybox, GitURL: gitURL}); err != nil {
		t.Fatalf("create runner: %v", err)
	}
	task := api.Task{Name: "hello", Runner: "chart", Command: "sh job.sh", Synchronous: true, SyncTimeout: api.Duration(3 * time.Minute)}
	if _, err := c.CreateTask(t.Context(), task); err != nil {
		t.Fatalf("create task: %v", err)
	}
	j, finished, err := c.Submit(t.Context(), "hello", nil, client.SubmitOptions{})
	if err != nil || !finished {
		t.Fatalf("sync job: finished %v, %v", finished, err)
	}
	if j.Status != api.JobSucceeded || string(j.JSONData) != `{"ok":true}` {
		t.Errorf("job %s: %s (%q), json_data %s; want succeeded, {\"ok\":true} (stdout %q)", j.ID, j.Status, j.Reason, j.JSONData, j.Stdout)
	}
	if log := chartJobLog(t, c, j.ID); !strings.Contains(log, "checked out: hello from git") {
		t.Errorf("log of %s = %q, want the checked-out file's content", j.ID, log)
	}

	// The job ran as the chart's job account, without an API token.
	pods, err := e.Client.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{LabelSelector: "runplane.dev/job=" + j.ID})
	if err != nil || len(pods.Items) != 1 {
		t.Errorf("pods of job %s: %v, %v; want 1", j.ID, len(pods.Items), err)
	} else {
		jobPod := pods.Items[0].Spec
		// The chart's server has no git binary; its built-in reader still makes the tree's archive: one container.
		if len(jobPod.InitContainers) != 0 || len(jobPod.Containers) != 1 {
			t.Errorf("job pod of %d init and %d containers, want 0 and 1 (the one-container pod)", len(jobPod.InitContainers), len(jobPod.Containers))
		}
		if jobPod.ServiceAccountName != jobSAName {
			t.Errorf("job pod service account %q, want %s", jobPod.ServiceAccountName, jobSAName)
		}
		for _, ctr := range append(jobPod.InitContainers, jobPod.Containers...) {
			for _, vm := range ctr.VolumeMounts {
				if strings.HasPrefix(vm.MountPath, "/var/run/secrets/kubernetes.io") {
					t.Errorf("job container %s mounts an API token at %s", ctr.Name, vm.MountPath)
				}
			}
		}
	}
	if _, err := os.Stat(filepath.Join(dataDir, "runplane", "runplane.db")); err != nil {
		t.Errorf("the database is not on the volume: %v", err)
	}

	// An upgrade keeps the generated password. It also gives jobs the Service's address as the server's URL:
	// this cluster has no DNS, so pods cannot resolve the chart's default (the Service's DNS name).
	svc, err := e.Client.CoreV1().Services(ns).Get(t.Context(), chartName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	advertise := "http://" + svc.Spec.ClusterIP + ":8080"
	if _, err := h.run(t.Context(), "upgrade", "rp", chartDir, "--namespace", ns, "--reuse-values", "--set", "advertiseURL="+advertise,
		"--wait", "--timeout", "5m"); err != nil {
		t.Fatal(err)
	}
	secret, err = e.Client.CoreV1().Secrets(ns).Get(t.Context(), chartName, metav1.GetOptions{})
	if err != nil || string(secret.Data["root-password"]) != password {
		t.Errorf("root password after an upgrade: %v; changed %v, want it kept", err, string(secret.Data["root-password"]) != password)
	}

	// A new server pod finds everything on the volume.
	stopForward()
	server := "app.kubernetes.io/instance=rp,app.kubernetes.io/name=runplane"
	old, err := e.Client.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{LabelSelector: server})
	if err != nil || len(old.Items) != 1 {
		t.Fatalf("server pods: %v, %v; want 1", len(old.Items), err)
	}
	if err := e.Client.CoreV1().Pods(ns).Delete(t.Context(), old.Items[0].Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	kubetest.WaitFor(t, 3*time.Minute, "a new ready server pod", func() bool {
		pods, err := e.Client.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{LabelSelector: server})
		if err != nil || len(pods.Items) != 1 || pods.Items[0].UID == old.Items[0].UID {
			return false
		}
		for _, cond := range pods.Items[0].Status.Conditions {
			if cond.Type == corev1.PodReady {
				return cond.Status == corev1.ConditionTrue
			}
		}
		return false
	})
	url, _ = portForward(t, kubectl, ns, "svc/"+chartName, 8080)
	c = chartLogin(t, url, password)
	again, err := c.GetJob(t.Context(), j.ID)
	if err != nil || again.Status != api.JobSucceeded || string(again.JSONData) != `{"ok":true}` {
		t.Errorf("job %s after the server pod was replaced: %+v, %v; want it succeeded with its result", j.ID, again, err)
	}

	chartWorkflow(t, e, c, ns, advertise)
}

// chartWorkflow runs a two-step workflow through the chart's server: its steps' pods reach the metadata API at
// the Service (advertise), one sets an output there with a PUT and the next reads it back with a GET and
// through its env.
func chartWorkflow(t *testing.T, e env, c *client.Client, ns, advertise string) {
	t.Helper()
	w := api.Workflow{Name: "chart", Steps: []api.Step{
		{Name: "put", Image: e.Busybox, Command: sh(metaShell + `put greeting text/plain "hello from $RUNPLANE_STEP"`)},
		{Name: "get", DependsOn: api.Strings{"put"}, Image: e.Busybox, Env: api.EnvVars{{Name: "G", Value: "${outputs.put.greeting}"}},
			Command: sh(metaShell + `printf '^JSON {"env": "%s", "api": "%s"} ^JSON\n' "$G" "$(get /outputs/put/greeting | value)"`)},
	}}
	if _, err := c.CreateWorkflow(t.Context(), w); err != nil {
		t.Fatalf("create workflow: %v", err)
	}
	run, finished, err := c.StartRun(t.Context(), "chart", nil, client.SubmitOptions{Wait: wait(3 * time.Minute)})
	if err != nil || !finished || run.Status != api.RunSucceeded {
		for _, st := range run.Steps {
			if st.Job != "" {
				t.Logf("step %s (%s): log %q", st.Name, st.Status, chartJobLog(t, c, st.Job))
			}
		}
		t.Fatalf("workflow run through the chart's server: %v, finished %v, %s (%s); want succeeded", err, finished, run.Status, run.Reason)
	}
	for _, st := range run.Steps {
		if st.Name == "get" {
			if want := `"hello from put"`; string(st.Outputs["env"]) != want || string(st.Outputs["api"]) != want {
				t.Errorf("step get: outputs %s; want env and api %s", st.Outputs, want)
			}
		}
	}
	pods, err := e.Client.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{LabelSelector: "runplane.dev/task=put"})
	if err != nil || len(pods.Items) != 1 {
		t.Fatalf("pods of step put: %v, %v; want 1", len(pods.Items), err)
	}
	var url string
	// The step's container is the pod's regular container, started beside the keep container (or an init
	// container when its image's entrypoint runs): look in both.
	spec := pods.Items[0].Spec
	for _, ctr := range append(spec.InitContainers, spec.Containers...) {
		for _, ev := range ctr.Env {
			if ctr.Name == "put" && ev.Name == api.EnvMetadataURL {
				url = ev.Value
			}
		}
	}
	if want := advertise + "/api/v1/metadata"; url != want {
		t.Errorf("step pod's %s = %q, want %s", api.EnvMetadataURL, url, want)
	}
}

// installValues are the values TestChartInstall installs the chart with (TestChartSchema checks them without a
// cluster): the test image, which is in the node's containerd already (never pulled), a volume of storage class
// class, and jobs in busybox.
func installValues(repository, tag, class, busybox string) map[string]any {
	return map[string]any{
		"image":          map[string]any{"repository": repository, "tag": tag, "pullPolicy": "Never"},
		"persistence":    map[string]any{"storageClass": class, "size": "100Mi"},
		"imageAllowlist": []string{busybox},
		"executor":       map[string]any{"jobTTL": "10m"},
		"log":            map[string]any{"level": "debug"},
	}
}

// writeValues writes values into a values file for helm and returns its name.
func writeValues(t testing.TB, values map[string]any) string {
	t.Helper()
	js, err := json.Marshal(values)
	if err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(t.TempDir(), "values.yaml") // JSON is YAML
	if err := os.WriteFile(name, js, 0o644); err != nil {
		t.Fatal(err)
	}
	return name
}

// chartLogin logs in to the server at url as root.
func chartLogin(t *testing.T, url, password string) *client.Client {
	t.Helper()
	c, err := client.New(url)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := c.Login(t.Context(), api.Login{Username: "root", Password: password, Provider: "local"})
	if err != nil {
		t.Fatalf("login as root at %s: %v", url, err)
	}
	c.SetToken(tok)
	return c
}

func chartJobLog(t *testing.T, c *client.Client, id string) string {
	t.Helper()
	rc, err := c.Log(t.Context(), id, false)
	if err != nil {
		t.Fatalf("log of %s: %v", id, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("log of %s: %v", id, err)
	}
	return string(b)
}
