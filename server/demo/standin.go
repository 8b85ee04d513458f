package demo

import (
	"encoding/json"
	"hash/fnv"
	"net/http"
	"time"

	"github.com/threatwinds/aiadmin/clients/runpod/standin"
)

// standIn is one virtual inference server on the shared loopback listener.
// Its base URL is http://127.0.0.1:PORT/<name>/v1, like a vLLM server's.
type standIn struct {
	name     string
	url      string
	provider string // "" when the registry does not track its kind
	models   []string
	mode     mode
	// phase shifts a flapping server's cycle so that flapping servers do not
	// all flip at the same instant.
	phase time.Duration
	// podID is set for a server standing in for a RunPod pod: it then also
	// follows the pod's state on the RunPod stand-in.
	podID string
	// registered says the seed writes it into the registry.
	registered bool
}

// podSource is where a pod-backed server learns its pod's state.
type podSource interface {
	Pod(id string) (standin.Pod, bool)
}

// inferenceFleet is every stand-in inference server, served by path from one
// listener. It is built before the listener serves and never changes after,
// so it needs no lock.
type inferenceFleet struct {
	base    string // http://127.0.0.1:PORT
	byName  map[string]*standIn
	byURL   map[string]*standIn
	servers []*standIn
	// backends lists the registered servers of each model.
	backends map[string][]*standIn
	pods     podSource
	created  int64
}

func newInferenceFleet(base string, pods podSource) *inferenceFleet {
	return &inferenceFleet{
		base:     base,
		byName:   map[string]*standIn{},
		byURL:    map[string]*standIn{},
		backends: map[string][]*standIn{},
		pods:     pods,
		created:  time.Now().Unix(),
	}
}

// add creates a stand-in server called name; its URL is the base URL with
// the name and /v1.
func (f *inferenceFleet) add(s *standIn) {
	s.url = f.base + "/" + s.name + "/v1"
	if s.mode == modeFlapping {
		h := fnv.New64a()
		_, _ = h.Write([]byte(s.name))
		s.phase = time.Duration(h.Sum64() % uint64(2*flapPeriod))
	}
	f.byName[s.name] = s
	f.byURL[s.url] = s
	f.servers = append(f.servers, s)
	if s.registered {
		for _, m := range s.models {
			f.backends[m] = append(f.backends[m], s)
		}
	}
}

// state is how s answers at now: modeHealthy, modeFailing or modeSlow. A
// flapping server's state follows the wall clock; a pod's server fails
// while the pod is not running and while it boots after a resume.
func (f *inferenceFleet) state(s *standIn, now time.Time) mode {
	if s.podID != "" && f.pods != nil {
		p, ok := f.pods.Pod(s.podID)
		if !ok || p.DesiredStatus != standin.StatusRunning || booting(p, now) {
			return modeFailing
		}
	}
	if s.mode == modeFlapping {
		if (now.UnixNano()+int64(s.phase))/int64(flapPeriod)%2 == 0 {
			return modeHealthy
		}
		return modeFailing
	}
	return s.mode
}

// resumedLayout is how the RunPod stand-in writes lastStartedAt on resume.
const resumedLayout = "2006-01-02 15:04:05.000 -0700 MST"

// booting says p was resumed less than bootTime before now. Start times in
// other layouts are the demo pods' own, hours old.
func booting(p standin.Pod, now time.Time) bool {
	started, err := time.Parse(resumedLayout, p.LastStartedAt)
	return err == nil && now.Sub(started) < bootTime
}

// up says a router would send s a request at now.
func (f *inferenceFleet) up(s *standIn, now time.Time) bool {
	return f.state(s, now) != modeFailing
}

// handler serves every stand-in: OpenAI's model list and a health check
// below the base URL, and speaches' and SGLang's health check at the root.
func (f *inferenceFleet) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{server}/v1/models", func(w http.ResponseWriter, r *http.Request) {
		f.answer(w, r, func(s *standIn) any {
			data := make([]modelEntry, 0, len(s.models))
			for _, m := range s.models {
				data = append(data, modelEntry{ID: m, Object: "model", Created: f.created, OwnedBy: s.ownedBy()})
			}
			return modelList{Object: "list", Data: data}
		})
	})
	health := func(w http.ResponseWriter, r *http.Request) {
		f.answer(w, r, func(*standIn) any { return map[string]string{"status": "ok"} })
	}
	mux.HandleFunc("GET /{server}/v1/health", health)
	mux.HandleFunc("GET /{server}/health", health)
	return mux
}

type modelList struct {
	Object string       `json:"object"`
	Data   []modelEntry `json:"data"`
}

type modelEntry struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

func (s *standIn) ownedBy() string {
	if s.provider == "" {
		return "infinity"
	}
	return s.provider
}

// answer writes body(s) for the server the path names, as its state at this
// moment allows.
func (f *inferenceFleet) answer(w http.ResponseWriter, r *http.Request, body func(*standIn) any) {
	s, ok := f.byName[r.PathValue("server")]
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such server"})
		return
	}
	switch f.state(s, time.Now()) {
	case modeFailing:
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{
			"object": "error", "message": "server unavailable", "code": http.StatusServiceUnavailable,
		})
		return
	case modeSlow:
		t := time.NewTimer(slowAnswer)
		defer t.Stop()
		select {
		case <-r.Context().Done():
			return
		case <-t.C:
		}
	}
	writeJSON(w, http.StatusOK, body(s))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
