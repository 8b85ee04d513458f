package demo

import (
	"math/rand/v2"
	"time"

	"github.com/threatwinds/aiadmin/clients/fleet"
)

// Model ids the demo fleet serves. The first two are the ones the seed
// document names.
const (
	modelQwen27B     = "threatwinds-qwen3-6-27b"
	modelQwen35B     = "threatwinds-qwen3-6-35b-a3b"
	modelQwen235B    = "threatwinds-qwen3-6-235b-a22b"
	modelEmbedding8B = "threatwinds-qwen3-embedding-8b"
	modelWhisper     = "Systran/faster-whisper-large-v3"
	modelKokoro      = "speaches-ai/Kokoro-82M-v1.0-ONNX"
	modelReranker    = "BAAI/bge-reranker-v2-m3"
)

// DemoUser is a user the seed always pins to three models, as in the seed
// document's affinity examples.
const DemoUser = "usr_abc123"

// mode is how a stand-in inference server answers.
type mode int

const (
	// modeHealthy answers at once.
	modeHealthy mode = iota
	// modeFailing answers 503 at once.
	modeFailing
	// modeSlow answers 200, but only after slowAnswer: past any probe timeout.
	modeSlow
	// modeFlapping alternates between healthy and failing every flapPeriod.
	modeFlapping
)

func (m mode) String() string {
	switch m {
	case modeHealthy:
		return "healthy"
	case modeFailing:
		return "failing"
	case modeSlow:
		return "slow"
	case modeFlapping:
		return "flapping"
	}
	return "unknown"
}

const (
	// slowAnswer is how long a slow server holds its answer: well past the
	// prober's 2 s timeout, and bounded so that a client without a timeout
	// still gets an answer.
	slowAnswer = 5 * time.Second
	// flapPeriod is how long a flapping server stays in each state: long
	// enough for a 10 s prober to see three failures in a row, then two
	// successes.
	flapPeriod = 40 * time.Second
	// bootTime is how long a resumed pod answers 503 while it "loads its
	// model".
	bootTime = 45 * time.Second
)

// serverKind is one kind of inference server of the fleet: the kind a pod's
// name carries, who runs it and what it serves.
type serverKind struct {
	name     string
	provider string // "" for a kind outside the registry's providers
	models   []string
	// extra is how many loopback servers of this kind exist beside the
	// RunPod pods.
	extra int
	// modeOf gives the behaviour of the i-th (from 1) extra server.
	modeOf func(i int) mode
}

// kinds are the server kinds of the demo fleet, named as standin.DemoPods
// names its pods.
var kinds = []serverKind{
	{
		name: "vllm-qwen3-6-27b-fp8", provider: fleet.ProviderVLLM, models: []string{modelQwen27B}, extra: 300,
		modeOf: func(i int) mode {
			switch {
			case i%41 == 7:
				return modeFailing
			case i%53 == 29:
				return modeFlapping
			case i%97 == 13:
				return modeSlow
			}
			return modeHealthy
		},
	},
	{
		name: "sglang-qwen3-6-35b-a3b", provider: fleet.ProviderSGLang, models: []string{modelQwen35B}, extra: 24,
		modeOf: func(i int) mode {
			switch i {
			case 5:
				return modeFailing
			case 17:
				return modeFlapping
			}
			return modeHealthy
		},
	},
	{
		name: "speaches-whisper-large-v3", provider: fleet.ProviderSpeaches, models: []string{modelWhisper, modelKokoro}, extra: 8,
		modeOf: func(i int) mode {
			if i == 3 {
				return modeFlapping
			}
			return modeHealthy
		},
	},
	{
		name: "vllm-qwen3-embedding-8b", provider: fleet.ProviderVLLM, models: []string{modelEmbedding8B}, extra: 6,
		modeOf: func(i int) mode {
			if i == 2 {
				return modeSlow
			}
			return modeHealthy
		},
	},
	{
		name: "vllm-qwen3-6-235b-a22b-fp8", provider: fleet.ProviderVLLM, models: []string{modelQwen235B}, extra: 4,
		modeOf: func(int) mode { return modeHealthy },
	},
	// The rerankers run on infinity, which the registry does not track:
	// their pods have no server pool, so the pods operation shows them with
	// "healthy": null.
	{name: "infinity-bge-reranker-v2-m3", models: []string{modelReranker}},
}

func kindNamed(name string) (serverKind, bool) {
	for _, k := range kinds {
		if k.name == name {
			return k, true
		}
	}
	return serverKind{}, false
}

// trafficModel is a model the simulated users call, with its share of the
// traffic.
type trafficModel struct {
	id       string
	provider string
	weight   int
}

var trafficModels = []trafficModel{
	{modelQwen27B, fleet.ProviderVLLM, 55},
	{modelQwen35B, fleet.ProviderSGLang, 20},
	{modelWhisper, fleet.ProviderSpeaches, 9},
	{modelKokoro, fleet.ProviderSpeaches, 3},
	{modelEmbedding8B, fleet.ProviderVLLM, 9},
	{modelQwen235B, fleet.ProviderVLLM, 4},
}

func pickModel(rng *rand.Rand) trafficModel {
	total := 0
	for _, m := range trafficModels {
		total += m.weight
	}
	n := rng.IntN(total)
	for _, m := range trafficModels {
		if n < m.weight {
			return m
		}
		n -= m.weight
	}
	return trafficModels[0]
}

func trafficModelNamed(id string) trafficModel {
	for _, m := range trafficModels {
		if m.id == id {
			return m
		}
	}
	return trafficModel{}
}

// demoUsers returns DemoUser and n-1 other user ids, the same on every run so
// that examples can name them.
func demoUsers(n int) []string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	rng := rand.New(rand.NewPCG(0x5eed, 0xa11))
	users := []string{DemoUser}
	for len(users) < n {
		b := []byte("usr_")
		for range 6 {
			b = append(b, alphabet[rng.IntN(len(alphabet))])
		}
		users = append(users, string(b))
	}
	return users
}
