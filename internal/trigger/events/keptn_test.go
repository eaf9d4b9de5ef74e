package events

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/api"
)

func TestAnswers(t *testing.T) {
	now := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	start, end := now.Add(-time.Minute), now
	ev := api.Event{ID: "ev-1", Source: "shipyard", Type: "sh.keptn.event.test.triggered", SpecVersion: "1.0",
		Extensions: map[string]any{"shkeptncontext": "ctx", "gitcommitid": "abc", "shkeptnspecversion": "0.2.4", "other": "x"},
		Data:       json.RawMessage(`{"project":"p","stage":"s","service":"svc","labels":{"l":"v"},"test":{"teststrategy":"t"}}`)}
	base := AnswerBase("rules\nshipyard\nev-1\n0")
	data := func(e api.Event) map[string]any {
		var m map[string]any
		if err := json.Unmarshal(e.Data, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	ext := map[string]any{"shkeptncontext": "ctx", "gitcommitid": "abc", "shkeptnspecversion": "0.2.4", "triggeredid": "ev-1"}

	started := Started(ev, base, "rules-abcde", "runplane", now)
	wantExt := map[string]any{"runplanerun": "rules-abcde"}
	for k, v := range ext {
		wantExt[k] = v
	}
	if started.Type != "sh.keptn.event.test.started" || started.ID != base+"-started" || started.Source != "runplane" ||
		!started.Produced || !cmp.Equal(wantExt, started.Extensions) {
		t.Errorf("Started() = %+v", started)
	}
	if diff := cmp.Diff(map[string]any{"project": "p", "stage": "s", "service": "svc", "labels": map[string]any{"l": "v"}}, data(started)); diff != "" {
		t.Errorf("Started() data mismatch (-want +got):\n%s", diff)
	}

	tests := []struct {
		name  string
		tasks []TaskResult
		want  map[string]any
	}{
		{"succeeded", []TaskResult{{Name: "Run one", Logs: "one"}, {Name: "Run two", Logs: "two\nlines"}}, map[string]any{
			"status": "succeeded", "result": "pass",
			"message": "Task 'Run one' finished successfully!\n\nLogs:\none\n\nTask 'Run two' finished successfully!\n\nLogs:\ntwo\nlines\n\n"}},
		{"second failed", []TaskResult{{Name: "Run one", Logs: "one"}, {Name: "Run two", Logs: "boom", Err: errors.New("exit code 3")}}, map[string]any{
			"status": "errored", "result": "fail", "message": "Task 'Run two' failed: exit code 3\n\nLogs: \nboom"}},
		{"failed without logs", []TaskResult{{Name: "Run one", Err: errors.New("timeout")}}, map[string]any{
			"status": "errored", "result": "fail", "message": "Task 'Run one' failed: timeout"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := Finished(ev, base, "runplane", now, tt.tasks, &start, &end)
			if f.Type != "sh.keptn.event.test.finished" || f.ID != base+"-finished" || !cmp.Equal(ext, f.Extensions) {
				t.Errorf("Finished() = %+v", f)
			}
			want := map[string]any{"project": "p", "stage": "s", "service": "svc", "labels": map[string]any{"l": "v"},
				"test": map[string]any{"start": "2026-12-07T07:59:00Z", "end": "2026-12-07T08:00:00Z"}}
			for k, v := range tt.want {
				want[k] = v
			}
			if diff := cmp.Diff(want, data(f)); diff != "" {
				t.Errorf("Finished() data mismatch (-want +got):\n%s", diff)
			}
		})
	}

	// Only test.triggered answers carry data.test; other types keep their prefix.
	ev.Type = "sh.keptn.event.deployment.triggered"
	f := Finished(ev, base, "runplane", now, []TaskResult{{Name: "a"}}, &start, &end)
	if f.Type != "sh.keptn.event.deployment.finished" || data(f)["test"] != nil {
		t.Errorf("Finished(deployment) = type %s data %v", f.Type, data(f))
	}
	e := Errored(ev, base, "runplane", now, "Forbidden: Image x does not match configured image allowlist.\n")
	if d := data(e); d["status"] != "errored" || d["result"] != "fail" || e.ID != base+"-finished" {
		t.Errorf("Errored() = %+v %v", e, d)
	}
	if !IsTriggered("sh.keptn.event.test.triggered") || IsTriggered(".triggered") || IsTriggered("sh.keptn.event.test.finished") {
		t.Error("IsTriggered is wrong")
	}
}
