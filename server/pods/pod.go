package pods

import (
	"strings"

	"github.com/threatwinds/aiadmin/clients/fleet"
	"github.com/threatwinds/aiadmin/clients/runpod"
)

// Pod is one fleet pod as operators see it: RunPod's facts with the fleet
// state of its backend URL.
type Pod struct {
	ID               string
	Name             string
	DesiredStatus    string
	Kind             string
	URL              string
	LastStartedAt    string
	LastStatusChange string
	CostPerHr        float64
	DataCenterID     string
	Location         string
	GPUTypeID        string
	// Models are the models the pool routes to URL; never nil.
	Models []string
	// Healthy is nil when no server pool holds URL, false until its first
	// successful probe.
	Healthy   *bool
	Inflight  int64
	LastUseMs int64
	// Draining is true while URL is drained: it gets no new sessions.
	Draining bool
}

// entry is one fleet pod with what is derived from it once per fetch.
type entry struct {
	pod  runpod.Pod
	kind string
	url  string
}

// view joins an entry with the fleet state of its URL.
func view(e entry, st fleet.BackendState) Pod {
	p := e.pod
	models := st.Models
	if models == nil {
		models = []string{}
	}
	return Pod{
		ID:               p.ID,
		Name:             p.Name,
		DesiredStatus:    p.DesiredStatus,
		Kind:             e.kind,
		URL:              e.url,
		LastStartedAt:    p.LastStartedAt,
		LastStatusChange: p.LastStatusChange,
		CostPerHr:        p.CostPerHr,
		DataCenterID:     p.DataCenterID,
		Location:         p.Location,
		GPUTypeID:        p.GPUTypeID,
		Models:           models,
		Healthy:          healthVerdict(st),
		Inflight:         st.Inflight,
		LastUseMs:        st.LastUseMs,
		Draining:         st.Draining,
	}
}

// healthVerdict is the pool's verdict on a backend: nil when no pool holds
// it, false until its first successful probe.
func healthVerdict(st fleet.BackendState) *bool {
	if !st.Pooled {
		return nil
	}
	v := st.Health.Healthy != nil && *st.Health.Healthy
	return &v
}

// Kind is a pod's name without the fleet prefix and without a trailing
// replica index: "aiapi-dev-vllm-qwen3-6-27b-fp8-1" with the prefix
// "aiapi-dev-" is "vllm-qwen3-6-27b-fp8". A prefix given without its final
// "-" is stripped with it.
func Kind(name, prefix string) string {
	kind := strings.TrimPrefix(name, prefix)
	if prefix != "" && !strings.HasSuffix(prefix, "-") {
		kind = strings.TrimPrefix(kind, "-")
	}
	if i := strings.LastIndexByte(kind, '-'); i > 0 && i < len(kind)-1 && allDigits(kind[i+1:]) {
		kind = kind[:i]
	}
	return kind
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
