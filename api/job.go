package api

import (
	"encoding/json"
	"time"
)

// JobStatus is where a job is in its life.
type JobStatus string

// The statuses of a job. Queued and running are live; the rest are final.
const (
	JobQueued    JobStatus = "queued"
	JobRunning   JobStatus = "running"
	JobSucceeded JobStatus = "succeeded"
	JobFailed    JobStatus = "failed"
	JobCancelled JobStatus = "cancelled"
)

// Final reports whether s is an end state.
func (s JobStatus) Final() bool {
	return s == JobSucceeded || s == JobFailed || s == JobCancelled
}

// Reasons a job ended other than by its own exit code.
const (
	ReasonTimeout     = "timeout"
	ReasonCancelled   = "cancelled"
	ReasonOrphaned    = "orphaned"
	ReasonTaskDeleted = "task deleted"
)

// Job is one run of a task. Completed and Failed are Kriten's counters (1 or 0); Status is runplane's.
type Job struct {
	ID             string     `json:"id"`
	Owner          string     `json:"owner"`
	Task           string     `json:"task"`
	Status         JobStatus  `json:"status"`
	CreateTime     time.Time  `json:"create_time"`
	StartTime      *time.Time `json:"start_time,omitempty"`
	CompletionTime *time.Time `json:"completion_time,omitempty"`
	Completed      int        `json:"completed"`
	Failed         int        `json:"failed"`
	ExitCode       *int       `json:"exit_code,omitempty"`
	Reason         string     `json:"reason,omitempty"`
	Warnings       []string   `json:"warnings,omitempty"`
	// Input is what the job was run with (its EXTRA_VARS), shown to the job's readers; absent for no input.
	Input    json.RawMessage `json:"input,omitempty"`
	Stdout   string          `json:"stdout"`
	JSONData json.RawMessage `json:"json_data,omitempty"`
	// Run and Step name the workflow run and step the job is an attempt of; empty for a job submitted directly.
	Run  string `json:"run,omitempty"`
	Step string `json:"step,omitempty"`
	// Containers is how each container of a multi-container job ran, in order; absent for a command task's job.
	Containers []ContainerStatus `json:"containers,omitempty"`
	// Metadata is what the job's containers wrote to the metadata directory in Kratix's files.
	Metadata *JobMetadata `json:"metadata,omitempty"`
	// Trigger is what started the job when no one submitted it directly (a cron job, a webhook, an event).
	Trigger *Trigger `json:"trigger,omitempty"`
}

// JobMetadata is what a job's containers wrote to its metadata directory, in Kratix's files, as JSON.
type JobMetadata struct {
	// Status is status.yaml: fields to merge into the status of the resource the job works for.
	Status json.RawMessage `json:"status,omitempty"`
	// DestinationSelectors is destination-selectors.yaml: a list of {directory, matchLabels}.
	DestinationSelectors json.RawMessage `json:"destination_selectors,omitempty"`
	// WorkflowControl is workflow-control.yaml: {retryAfter, suspend, message}.
	WorkflowControl json.RawMessage `json:"workflow_control,omitempty"`
}

// JobCreated is the answer to an asynchronous submission, or a synchronous one that did not finish in time:
// Kriten's {"msg","id"}, the job's name (its id: Kriten's job id is the name of its Kubernetes Job, and Kriten's
// API test suite reads "name"), and the job's status when answered (queued or running; a client tells "done" from
// "still running" by it, never by parsing msg). The job's URL is in the answer's Location header.
type JobCreated struct {
	Msg    string    `json:"msg"`
	ID     string    `json:"id"`
	Name   string    `json:"name,omitempty"`
	Status JobStatus `json:"status,omitempty"`
}

// NewJobCreated is the answer for job id, created in status.
func NewJobCreated(id string, status JobStatus) JobCreated {
	return JobCreated{Msg: JobCreatedMsg, ID: id, Name: id, Status: status}
}

// JobCreatedMsg is Kriten's message for a created job.
const JobCreatedMsg = "job created successfully"
