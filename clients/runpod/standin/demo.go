package standin

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// demoKind is one kind of inference server the fleet runs.
type demoKind struct {
	name       string
	gpuTypeID  string
	gpuDisplay string
	gpuCount   int
	costPerGPU float64
}

var demoKinds = []demoKind{
	{"vllm-qwen3-6-27b-fp8", "NVIDIA H100 80GB HBM3", "H100 SXM", 1, 2.69},
	{"sglang-qwen3-6-35b-a3b", "NVIDIA H100 NVL", "H100 NVL", 1, 2.59},
	{"speaches-whisper-large-v3", "NVIDIA L40S", "L40S", 1, 0.86},
	{"vllm-qwen3-embedding-8b", "NVIDIA RTX A6000", "RTX A6000", 1, 0.49},
	{"infinity-bge-reranker-v2-m3", "NVIDIA GeForce RTX 4090", "RTX 4090", 1, 0.69},
	{"vllm-qwen3-6-235b-a22b-fp8", "NVIDIA H200", "H200", 4, 3.59},
}

// demoDataCenters pairs RunPod data centers with their country codes.
var demoDataCenters = [][2]string{
	{"EU-RO-1", "RO"}, {"US-TX-3", "US"}, {"EU-SE-1", "SE"}, {"US-CA-2", "US"},
	{"CA-MTL-1", "CA"}, {"EU-NL-1", "NL"}, {"US-GA-1", "US"}, {"AP-JP-1", "JP"},
}

// demoZone is an account zone a JavaScript date may be rendered in.
type demoZone struct {
	loc  *time.Location
	name string
}

var demoZones = []demoZone{
	{time.FixedZone("CEST", 2*60*60), "Central European Summer Time"},
	{time.FixedZone("PDT", -7*60*60), "Pacific Daylight Time"},
	{time.FixedZone("IST", 5*60*60+30*60), "India Standard Time"},
	{time.UTC, "Coordinated Universal Time"},
}

// DemoPods returns n realistic fleet pods named prefix + kind + "-" + ordinal
// ("aiapi-dev-vllm-qwen3-6-27b-fp8-1" for the prefix "aiapi-dev"; a "-" is
// added to a prefix that lacks one), followed by two pods outside the fleet
// whose names lack the prefix. Ids, names, GPUs, data centers and costs
// depend only on n and prefix; times are relative to now. Their
// lastStatusChange and lastStartedAt use the renderings RunPod has been seen
// to use, some with the phrase alone; every fifth pod is EXITED.
func DemoPods(n int, prefix string) []Pod {
	if prefix != "" && !strings.HasSuffix(prefix, "-") {
		prefix += "-"
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte(prefix))
	seed := h.Sum64()
	anchor := time.Now().UTC().Truncate(time.Minute)

	pods := make([]Pod, 0, n+2)
	for i := range max(n, 0) {
		rng := rand.New(rand.NewPCG(seed, uint64(i)))
		kind := demoKinds[i%len(demoKinds)]
		dc := demoDataCenters[(i*3+i/len(demoKinds))%len(demoDataCenters)]
		started := anchor.Add(-time.Duration(i+1) * 97 * time.Minute)
		p := Pod{
			ID:             demoID(rng, 14),
			Name:           fmt.Sprintf("%s%s-%d", prefix, kind.name, i/len(demoKinds)+1),
			DesiredStatus:  StatusRunning,
			CostPerHr:      float64(kind.gpuCount) * kind.costPerGPU,
			GPUCount:       kind.gpuCount,
			PodType:        TypeReserved,
			LastStartedAt:  renderStarted(started, i),
			UptimeSeconds:  int(anchor.Sub(started).Seconds()),
			MachineID:      demoID(rng, 12),
			GPUDisplayName: kind.gpuDisplay,
			GPUTypeID:      kind.gpuTypeID,
			Location:       dc[1],
			DataCenterID:   dc[0],
		}
		z := demoZones[i%len(demoZones)]
		switch {
		case i%5 == 4:
			stopped := started.Add(41 * time.Minute)
			p.DesiredStatus = StatusExited
			p.UptimeSeconds = 0
			p.LastStatusChange = "Exited by User: " + JSDate(stopped.In(z.loc), z.name)
		case i%7 == 3:
			p.LastStatusChange = "Rented by User"
		default:
			p.LastStatusChange = "Rented by User: " + JSDate(started.In(z.loc), z.name)
		}
		pods = append(pods, p)
	}

	rng := rand.New(rand.NewPCG(seed, 1<<32))
	scratchStarted := anchor.Add(-26 * time.Hour)
	pods = append(pods,
		Pod{
			ID:               demoID(rng, 14),
			Name:             "jupyter-scratch",
			DesiredStatus:    StatusExited,
			CostPerHr:        0.69,
			GPUCount:         1,
			PodType:          TypeReserved,
			LastStatusChange: "Exited by User",
			LastStartedAt:    scratchStarted.Format(time.RFC3339),
			MachineID:        demoID(rng, 12),
			GPUDisplayName:   "RTX 4090",
			GPUTypeID:        "NVIDIA GeForce RTX 4090",
			Location:         "SE",
			DataCenterID:     "EU-SE-1",
		},
		Pod{
			ID:               demoID(rng, 14),
			Name:             "comfyui-playground",
			DesiredStatus:    StatusRunning,
			CostPerHr:        0.34,
			GPUCount:         1,
			PodType:          "INTERRUPTABLE",
			LastStatusChange: "Rented by User: " + JSDate(anchor.Add(-3*time.Hour), demoZones[3].name),
			LastStartedAt:    anchor.Add(-3 * time.Hour).Format("2006-01-02 15:04:05"),
			UptimeSeconds:    3 * 60 * 60,
			MachineID:        demoID(rng, 12),
			GPUDisplayName:   "RTX A5000",
			GPUTypeID:        "NVIDIA RTX A5000",
			Location:         "US",
			DataCenterID:     "US-TX-3",
		},
	)
	return pods
}

// renderStarted renders a start time in one of the layouts lastStartedAt has
// been seen in, chosen by i.
func renderStarted(t time.Time, i int) string {
	switch i % 6 {
	case 0:
		return t.Format(time.RFC3339)
	case 1:
		return t.Format("2006-01-02T15:04:05.000Z07:00")
	case 2:
		return t.In(demoZones[0].loc).Format(time.RFC3339)
	case 3:
		return t.Format("2006-01-02 15:04:05.000 -0700 MST")
	case 4:
		return t.Format("2006-01-02 15:04:05")
	default:
		return strconv.FormatInt(t.UnixMilli(), 10)
	}
}

// demoID draws an id of n lowercase letters and digits, like RunPod's.
func demoID(rng *rand.Rand, n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[rng.IntN(len(alphabet))]
	}
	return string(b)
}
