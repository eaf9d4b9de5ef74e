// Package storetest is the conformance suite every store backend runs: Run exercises each method of every
// interface in package store against a real backend, so SQLite and PostgreSQL behave the same to their callers.
//
// It holds tests only. It must never import a backend (backends import it from their tests) nor reach into one:
// a behaviour worth relying on is stated in store's doc comments and checked here through the interface.
package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/runplane/runplane/internal/store"
)

// Run runs the suite. open must return a new, empty store for each call; the suite closes it when the subtest
// ends. Subtests run in parallel, so stores from open must not share state.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"RunnerRoundTrip", testRunnerRoundTrip},
		{"RunnerCreateConflict", testRunnerCreateConflict},
		{"RunnerNotFound", testRunnerNotFound},
		{"RunnerList", testRunnerList},
		{"RunnerUpdate", testRunnerUpdate},
		{"RunnerDelete", testRunnerDelete},
		{"RunnerDeleteInUse", testRunnerDeleteInUse},
		{"TaskRoundTrip", testTaskRoundTrip},
		{"TaskCreateConflict", testTaskCreateConflict},
		{"TaskNotFound", testTaskNotFound},
		{"TaskList", testTaskList},
		{"TaskUpdate", testTaskUpdate},
		{"TaskDeleteKeepsJobs", testTaskDeleteKeepsJobs},
		{"TaskKubernetesNone", testTaskKubernetesNone},
		{"TaskContainers", testTaskContainers},
		{"JobCreateGet", testJobCreateGet},
		{"JobCreateDuplicateID", testJobCreateDuplicateID},
		{"JobGetNotFound", testJobGetNotFound},
		{"JobIdempotencyKey", testJobIdempotencyKey},
		{"JobIdempotencyKeyConcurrent", testJobIdempotencyKeyConcurrent},
		{"JobQueueCap", testJobQueueCap},
		{"JobQueueCapConcurrent", testJobQueueCapConcurrent},
		{"JobLifecycle", testJobLifecycle},
		{"JobClaimEmpty", testJobClaimEmpty},
		{"JobClaimFIFO", testJobClaimFIFO},
		{"JobClaimConcurrent", testJobClaimConcurrent},
		{"JobLease", testJobLease},
		{"JobRenewLeases", testJobRenewLeases},
		{"JobClaimExpired", testJobClaimExpired},
		{"JobClaimExpiredConcurrent", testJobClaimExpiredConcurrent},
		{"JobEvents", testJobEvents},
		{"JobSetHandle", testJobSetHandle},
		{"JobFinishCounters", testJobFinishCounters},
		{"JobFinishQueued", testJobFinishQueued},
		{"JobFinishTwice", testJobFinishTwice},
		{"JobFinishNotFound", testJobFinishNotFound},
		{"JobFinishNotFinal", testJobFinishNotFinal},
		{"JobStdoutBytes", testJobStdoutBytes},
		{"JobCount", testJobCount},
		{"JobsConcurrent", testJobsConcurrent},
		{"JobList", testJobList},
		{"JobListTies", testJobListTies},
		{"JobStepFields", testJobStepFields},
		{"JobListByRun", testJobListByRun},
		{"JobStepKey", testJobStepKey},
		{"WorkflowRoundTrip", testWorkflowRoundTrip},
		{"WorkflowErrors", testWorkflowErrors},
		{"WorkflowList", testWorkflowList},
		{"WorkflowUpdateDelete", testWorkflowUpdateDelete},
		{"RunCreateGet", testRunCreateGet},
		{"RunIdempotencyKey", testRunIdempotencyKey},
		{"RunIdempotencyKeyConcurrent", testRunIdempotencyKeyConcurrent},
		{"RunWithJobs", testRunWithJobs},
		{"RunWithJobsConcurrent", testRunWithJobsConcurrent},
		{"RunList", testRunList},
		{"RunUpdate", testRunUpdate},
		{"RunUpdateConcurrent", testRunUpdateConcurrent},
		{"RunValues", testRunValues},
		{"CronJobRoundTrip", testCronJobRoundTrip},
		{"CronJobErrors", testCronJobErrors},
		{"CronJobUpdateKeepsFiring", testCronJobUpdateKeepsFiring},
		{"CronJobRecordOnce", testCronJobRecordOnce},
		{"EventCreateGet", testEventCreateGet},
		{"EventCreateConcurrent", testEventCreateConcurrent},
		{"EventList", testEventList},
		{"EventDispatchPrune", testEventDispatchPrune},
		{"EventRules", testEventRules},
		{"EventRulesVersion", testEventRulesVersion},
		{"DispatchedEvent", testDispatchedEvent},
		{"UserRoundTrip", testUserRoundTrip},
		{"UserCreateConflict", testUserCreateConflict},
		{"UserCreateInvalid", testUserCreateInvalid},
		{"UserNotFound", testUserNotFound},
		{"UserList", testUserList},
		{"UserSetPassword", testUserSetPassword},
		{"UserDelete", testUserDelete},
		{"GroupRoundTrip", testGroupRoundTrip},
		{"GroupCreateConflict", testGroupCreateConflict},
		{"GroupCreateInvalid", testGroupCreateInvalid},
		{"GroupNotFound", testGroupNotFound},
		{"GroupList", testGroupList},
		{"GroupUpdate", testGroupUpdate},
		{"GroupUpdateBuiltin", testGroupUpdateBuiltin},
		{"GroupDelete", testGroupDelete},
		{"GroupRoleIDs", testGroupRoleIDs},
		{"Membership", testMembership},
		{"RoleRoundTrip", testRoleRoundTrip},
		{"RoleCreateConflict", testRoleCreateConflict},
		{"RoleNotFound", testRoleNotFound},
		{"RoleList", testRoleList},
		{"RoleUpdate", testRoleUpdate},
		{"RoleDelete", testRoleDelete},
		{"RoleBindingRoundTrip", testRoleBindingRoundTrip},
		{"RoleBindingCreateConflict", testRoleBindingCreateConflict},
		{"RoleBindingInvalid", testRoleBindingInvalid},
		{"RoleBindingNotFound", testRoleBindingNotFound},
		{"RoleBindingList", testRoleBindingList},
		{"RoleBindingUpdate", testRoleBindingUpdate},
		{"RoleBindingDelete", testRoleBindingDelete},
		{"UserAccess", testUserAccess},
		{"APITokenRoundTrip", testAPITokenRoundTrip},
		{"APITokenCreateRefused", testAPITokenCreateRefused},
		{"APITokenNotFound", testAPITokenNotFound},
		{"APITokenList", testAPITokenList},
		{"APITokenUpdate", testAPITokenUpdate},
		{"APITokenDelete", testAPITokenDelete},
		{"WebhookRoundTrip", testWebhookRoundTrip},
		{"WebhookCreateRefused", testWebhookCreateRefused},
		{"WebhookList", testWebhookList},
		{"WebhookDelete", testWebhookDelete},
		{"SessionRevoke", testSessionRevoke},
		{"RevokeCredentials", testRevokeCredentials},
		{"SetPasswordRevokesTokens", testSetPasswordRevokesTokens},
		{"AuditRoundTrip", testAuditRoundTrip},
		{"AuditList", testAuditList},
		{"AuditFind", testAuditFind},
		{"AuditPrune", testAuditPrune},
		{"AuditAppendAtomic", testAuditAppendAtomic},
		{"PendingAudit", testPendingAudit},
		{"EventSinkRoundTrip", testEventSinkRoundTrip},
		{"OutboxJobsAndRuns", testOutboxJobsAndRuns},
		{"OutboxDeliveries", testOutboxDeliveries},
		{"OutboxClaimConcurrent", testOutboxClaimConcurrent},
		{"StateStoreRoundTrip", testStateStoreRoundTrip},
		{"DestinationRoundTrip", testDestinationRoundTrip},
		{"OddKeys", testOddKeys},
		{"DryRun", testDryRun},
		{"DryRunConcurrent", testDryRunConcurrent},
		{"PromiseRoundTrip", testPromiseRoundTrip},
		{"PromiseVersions", testPromiseVersions},
		{"PromiseDeleteWithRequests", testPromiseDeleteWithRequests},
		{"DefinitionRoundTrip", testDefinitionRoundTrip},
		{"DefinitionVersions", testDefinitionVersions},
		{"CompositionLifecycle", testCompositionLifecycle},
		{"RequestLifecycle", testRequestLifecycle},
		{"RequestUpdateConcurrent", testRequestUpdateConcurrent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tt.fn(t, s)
		})
	}
}

// base is the suite's clock. Times have microsecond precision, the finest PostgreSQL keeps.
var base = time.Date(2026, 3, 4, 5, 6, 7, 890123000, time.UTC)

// at returns base plus n seconds.
func at(n int) time.Time { return base.Add(time.Duration(n) * time.Second) }

// opts compare stored values: nil and empty slices and maps are the same.
var opts = cmp.Options{cmpopts.EquateEmpty()}

// checkErr fails t unless err wraps kind and, when msg is set, reads exactly msg.
func checkErr(t *testing.T, call string, err, kind error, msg string) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Errorf("%s error = %v, want %v", call, err, kind)
		return
	}
	if msg != "" && err.Error() != msg {
		t.Errorf("%s error = %q, want %q", call, err.Error(), msg)
	}
}

func must(t *testing.T, call string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", call, err)
	}
}
