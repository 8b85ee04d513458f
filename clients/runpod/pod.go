package runpod

import "sync"

// Pod is one pod of the RunPod account, as the gateway needs it. Times are
// RFC 3339 in UTC, or "" when RunPod gave none or one that could not be read.
type Pod struct {
	ID            string
	Name          string
	DesiredStatus string // CREATED, RUNNING, RESTARTING, EXITED, PAUSED, DEAD, TERMINATED
	CostPerHr     float64
	GPUCount      int
	PodType       string // INTERRUPTABLE, RESERVED, BID, BACKGROUND, or ""
	// LastStatusChange is when the pod last changed status, read out of
	// RunPod's free-text lastStatusChange.
	LastStatusChange string
	LastStartedAt    string
	UptimeSeconds    int
	MachineID        string
	GPUDisplayName   string
	GPUTypeID        string
	Location         string
	DataCenterID     string
}

// podFields is the selection every pod query asks for: what Pod holds.
const podFields = `id name desiredStatus costPerHr gpuCount podType lastStatusChange lastStartedAt uptimeSeconds machineId machine { gpuDisplayName gpuTypeId location dataCenterId }`

const (
	listPodsQuery  = `query ListPods { myself { pods { ` + podFields + ` } } }`
	getPodQuery    = `query GetPod($podId: String!) { pod(input: {podId: $podId}) { ` + podFields + ` } }`
	stopPodQuery   = `mutation StopPod($podId: String!) { podStop(input: {podId: $podId}) { id desiredStatus lastStatusChange } }`
	resumePodQuery = `mutation ResumePod($podId: String!, $gpuCount: Int!) { podResume(input: {podId: $podId, gpuCount: $gpuCount}) { id desiredStatus } }`
	bidResumeQuery = `mutation BidResumePod($podId: String!, $bidPerGpu: Float!, $gpuCount: Int!) { podBidResume(input: {podId: $podId, bidPerGpu: $bidPerGpu, gpuCount: $gpuCount}) { id desiredStatus } }`
)

// PodTypeSpot is the podType of a spot pod, which resumes with a bid
// (BidResumePod) rather than as an on-demand pod (ResumePod).
const PodTypeSpot = "INTERRUPTABLE"

// IsSpot reports whether p is a spot pod.
func (p Pod) IsSpot() bool { return p.PodType == PodTypeSpot }

// BidPerGPU is what a spot pod pays per GPU and hour now, its cost spread
// over its GPUs: the bid that resumes it at the price it ran at. It is 0
// when the pod reports no GPUs or no cost.
func (p Pod) BidPerGPU() float64 {
	if p.GPUCount < 1 || p.CostPerHr <= 0 {
		return 0
	}
	return p.CostPerHr / float64(p.GPUCount)
}

// wirePod is a pod as the GraphQL answer carries it. Nullable strings decode
// to "" when null.
type wirePod struct {
	ID               string       `json:"id"`
	Name             string       `json:"name"`
	DesiredStatus    string       `json:"desiredStatus"`
	CostPerHr        float64      `json:"costPerHr"`
	GPUCount         int          `json:"gpuCount"`
	PodType          string       `json:"podType"`
	LastStatusChange string       `json:"lastStatusChange"`
	LastStartedAt    string       `json:"lastStartedAt"`
	UptimeSeconds    int          `json:"uptimeSeconds"`
	MachineID        string       `json:"machineId"`
	Machine          *wireMachine `json:"machine"`
}

type wireMachine struct {
	GPUDisplayName string `json:"gpuDisplayName"`
	GPUTypeID      string `json:"gpuTypeId"`
	Location       string `json:"location"`
	DataCenterID   string `json:"dataCenterId"`
}

// pod converts the wire form, normalising its times through times.
func (w wirePod) pod(times *timeMemo) Pod {
	p := Pod{
		ID:               w.ID,
		Name:             w.Name,
		DesiredStatus:    w.DesiredStatus,
		CostPerHr:        w.CostPerHr,
		GPUCount:         w.GPUCount,
		PodType:          w.PodType,
		LastStatusChange: times.normalize(w.LastStatusChange, NormalizeStatusChange),
		LastStartedAt:    times.normalize(w.LastStartedAt, NormalizeTime),
		UptimeSeconds:    w.UptimeSeconds,
		MachineID:        w.MachineID,
	}
	if m := w.Machine; m != nil {
		p.GPUDisplayName = m.GPUDisplayName
		p.GPUTypeID = m.GPUTypeID
		p.Location = m.Location
		p.DataCenterID = m.DataCenterID
	}
	return p
}

// maxMemoTimes bounds the renderings a timeMemo keeps: a few per pod of a
// large account.
const maxMemoTimes = 50_000

// timeMemo remembers how RunPod's free-form times were normalised. A pod's
// times change only when its status does, so every list after the first
// finds nearly all of them here instead of parsing them again. It is safe
// for concurrent use; when full it starts over.
type timeMemo struct {
	mu   sync.Mutex
	seen map[string]string
}

// normalize returns fn(raw), from memory when raw was normalised before.
// Both normalisers are pure, so a remembered result is the result.
func (m *timeMemo) normalize(raw string, fn func(string) string) string {
	if raw == "" {
		return fn(raw)
	}
	m.mu.Lock()
	v, ok := m.seen[raw]
	m.mu.Unlock()
	if ok {
		return v
	}
	v = fn(raw)
	m.mu.Lock()
	if m.seen == nil || len(m.seen) >= maxMemoTimes {
		m.seen = make(map[string]string)
	}
	m.seen[raw] = v
	m.mu.Unlock()
	return v
}
