package storetest

import (
	"fmt"
	"testing"

	"github.com/google/uuid"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

// testOddKeys looks objects up by keys no object can have: a NUL byte, bytes that are not UTF-8. Clients can send
// such keys (in a URL path, a login name); the answer is "not found", as for any other absent key, never a
// failure of the store.
func testOddKeys(t *testing.T, s store.Store) {
	ctx := t.Context()
	_, _, err := s.CreateJob(ctx, job("t-aaaaa", "t", 0))
	must(t, "CreateJob", err)
	u := createUser(t, s, user("ann", local))
	_, _, err = s.CreateRun(ctx, run("run-1", "w", 0))
	must(t, "CreateRun", err)
	for _, k := range []string{"a\x00b", "\xff\xfe"} {
		t.Run(fmt.Sprintf("%q", k), func(t *testing.T) {
			notFound := func(call string, err error) {
				t.Helper()
				checkErr(t, fmt.Sprintf("%s(%q)", call, k), err, store.ErrNotFound, "")
			}
			invalid := func(call string, err error) {
				t.Helper()
				checkErr(t, fmt.Sprintf("%s(%q)", call, k), err, store.ErrInvalid, "")
			}
			_, err := s.GetRunner(ctx, k)
			checkErr(t, "GetRunner", err, store.ErrNotFound, fmt.Sprintf("runner %q not found", k))
			notFound("UpdateRunner", s.UpdateRunner(ctx, api.Runner{Name: k, GitURL: "https://x/y.git"}))
			notFound("DeleteRunner", s.DeleteRunner(ctx, k))
			_, err = s.GetTask(ctx, k)
			notFound("GetTask", err)
			notFound("UpdateTask", s.UpdateTask(ctx, api.Task{Name: k, Runner: "r"}))
			notFound("DeleteTask", s.DeleteTask(ctx, k))

			_, err = s.GetJob(ctx, k)
			checkErr(t, "GetJob", err, store.ErrNotFound, fmt.Sprintf("job %q not found", k))
			notFound("SetJobHandle", s.SetJobHandle(ctx, k, "h"))
			_, err = s.FinishJob(ctx, k, store.Finish{Status: api.JobFailed})
			notFound("FinishJob", err)
			jobs, total, err := s.ListJobs(ctx, store.JobFilter{Task: k})
			must(t, "ListJobs", err)
			if len(jobs) != 0 || total != 0 {
				t.Errorf("ListJobs(Task %q) = %d jobs, total %d; want none", k, len(jobs), total)
			}
			_, total, err = s.ListJobs(ctx, store.JobFilter{Tasks: []string{k, "t"}})
			must(t, "ListJobs", err)
			if total != 1 {
				t.Errorf("ListJobs(Tasks %q, t) total = %d, want 1", k, total)
			}

			_, err = s.GetUser(ctx, k)
			notFound("GetUser", err)
			_, err = s.GetUserByName(ctx, local, k)
			checkErr(t, "GetUserByName", err, store.ErrNotFound, fmt.Sprintf("user %q of provider %q not found", k, local))
			notFound("SetPassword", s.SetPassword(ctx, k, hash))
			notFound("SetUserGroups", s.SetUserGroups(ctx, k, nil))
			invalid("SetUserGroups of a group", s.SetUserGroups(ctx, u.ID, []string{k}))
			notFound("DeleteUser", s.DeleteUser(ctx, k))
			_, _, err = s.UserAccess(ctx, k)
			notFound("UserAccess", err)

			_, err = s.GetGroup(ctx, k)
			notFound("GetGroup", err)
			_, err = s.GetGroupByName(ctx, local, k)
			notFound("GetGroupByName", err)
			_, err = s.UpdateGroup(ctx, api.Group{ID: k, Name: "g"})
			notFound("UpdateGroup", err)
			notFound("DeleteGroup", s.DeleteGroup(ctx, k))

			_, err = s.GetRole(ctx, k)
			notFound("GetRole", err)
			_, err = s.GetRoleByName(ctx, k)
			notFound("GetRoleByName", err)
			_, err = s.UpdateRole(ctx, api.Role{ID: k, Name: "r", Resource: "tasks", Access: api.AccessRead})
			notFound("UpdateRole", err)
			notFound("DeleteRole", s.DeleteRole(ctx, k))

			_, err = s.GetRoleBinding(ctx, k)
			notFound("GetRoleBinding", err)
			_, err = s.UpdateRoleBinding(ctx, api.RoleBinding{ID: k, Name: "b", RoleID: k, GroupID: k})
			notFound("UpdateRoleBinding", err)
			notFound("DeleteRoleBinding", s.DeleteRoleBinding(ctx, k))
			_, err = s.CreateRoleBinding(ctx, api.RoleBinding{Name: "b", RoleID: k, GroupID: k})
			invalid("CreateRoleBinding of a role", err)

			_, err = s.GetAPIToken(ctx, k)
			notFound("GetAPIToken", err)
			_, err = s.GetAPITokenByHash(ctx, k)
			notFound("GetAPITokenByHash", err)
			_, err = s.UpdateAPIToken(ctx, store.APIToken{APIToken: api.APIToken{ID: k}})
			notFound("UpdateAPIToken", err)
			notFound("DeleteAPIToken", s.DeleteAPIToken(ctx, k))
			_, err = s.CreateAPIToken(ctx, store.APIToken{APIToken: api.APIToken{ID: uuid.NewString(), Owner: k}, KeyHash: "h"})
			invalid("CreateAPIToken of an owner", err)
			tokens, err := s.ListAPITokens(ctx, k)
			must(t, "ListAPITokens", err)
			if len(tokens) != 0 {
				t.Errorf("ListAPITokens(%q) = %d tokens, want none", k, len(tokens))
			}

			_, err = s.GetAudit(ctx, k)
			notFound("GetAudit", err)

			_, err = s.GetWorkflow(ctx, k)
			checkErr(t, "GetWorkflow", err, store.ErrNotFound, fmt.Sprintf("workflow %q not found", k))
			notFound("UpdateWorkflow", s.UpdateWorkflow(ctx, api.Workflow{Name: k}))
			notFound("DeleteWorkflow", s.DeleteWorkflow(ctx, k))
			_, err = s.GetRun(ctx, k)
			checkErr(t, "GetRun", err, store.ErrNotFound, fmt.Sprintf("run %q not found", k))
			_, err = s.UpdateRun(ctx, store.Run{Run: api.Run{ID: k, Status: api.RunRunning}, Version: 1})
			notFound("UpdateRun", err)
			notFound("SetRunValue", s.SetRunValue(ctx, store.RunValue{Run: k, Step: "s", Kind: store.ValueOutput,
				Name: "n", Value: []byte(`1`)}))
			values, err := s.RunValues(ctx, k)
			must(t, "RunValues", err)
			if len(values) != 0 {
				t.Errorf("RunValues(%q) = %d values, want none", k, len(values))
			}
			runs, total, err := s.ListRuns(ctx, store.RunFilter{Workflow: k})
			must(t, "ListRuns", err)
			if len(runs) != 0 || total != 0 {
				t.Errorf("ListRuns(Workflow %q) = %d runs, total %d; want none", k, len(runs), total)
			}
			_, total, err = s.ListRuns(ctx, store.RunFilter{Owner: k})
			must(t, "ListRuns", err)
			if total != 0 {
				t.Errorf("ListRuns(Owner %q) total = %d, want 0", k, total)
			}
			_, total, err = s.ListRuns(ctx, store.RunFilter{Workflows: []string{k, "w"}})
			must(t, "ListRuns", err)
			if total != 1 {
				t.Errorf("ListRuns(Workflows %q, w) total = %d, want 1", k, total)
			}
			_, total, err = s.ListJobs(ctx, store.JobFilter{Run: k})
			must(t, "ListJobs", err)
			if total != 0 {
				t.Errorf("ListJobs(Run %q) total = %d, want 0", k, total)
			}
		})
	}
}
