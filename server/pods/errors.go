package pods

import "errors"

// Domain errors of the pod operations, matched with errors.Is.
var (
	// ErrNotConfigured means no RunPod API key is set, so there are no pods
	// to show; the rest of the API still serves.
	ErrNotConfigured = errors.New("runpod not configured")
	// ErrPodNotFound means RunPod knows no such pod, or the pod is not part
	// of the fleet (its name lacks the fleet's prefix).
	ErrPodNotFound = errors.New("pod not found")
	// ErrRunPod marks every failed RunPod call; the error is a *CallError.
	ErrRunPod = errors.New("runpod API error")
	// ErrFleetState means the fleet state could not be read or written.
	ErrFleetState = errors.New("fleet state unavailable")
	// ErrRestartInProgress means the caller's context ended while it waited
	// for another restart of the same pod, on this replica or another.
	ErrRestartInProgress = errors.New("pod restart in progress")
	// ErrNotResumable means a pod reports nothing to resume it with (no
	// GPUs, or a spot pod without a cost), so a restart refused to stop it.
	// It is wrapped in a *CallError of CallGet.
	ErrNotResumable = errors.New("pod cannot be resumed")
	// ErrRequestTimedOut means the caller's context ended while it waited
	// for work it did not do itself: a pod list another caller's RunPod call
	// was fetching, or its turn to restart a pod.
	ErrRequestTimedOut = errors.New("request timed out")
)

// Calls a CallError names.
const (
	CallList   = "list"
	CallGet    = "get"
	CallStop   = "stop"
	CallResume = "resume"
)

// CallError is a failed RunPod call: which call, and what the client said.
// The client's message never holds the API key, but it may name RunPod's
// address: it is for the log, not for callers of the API.
type CallError struct {
	// Call is CallList, CallGet, CallStop or CallResume.
	Call string
	Err  error
}

// Error is the client's message, which already says what was being done.
func (e *CallError) Error() string { return e.Err.Error() }

// Unwrap matches ErrRunPod and the client's error.
func (e *CallError) Unwrap() []error { return []error{ErrRunPod, e.Err} }
