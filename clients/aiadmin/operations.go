package aiadmin

import (
	"context"
	"net/http"

	"github.com/threatwinds/aiadmin/gen/adminclient"
)

// The API's models, as the generated client defines them, so that callers
// need not import gen/adminclient.
type (
	// Pod is one inference pod in a page of pods.
	Pod = adminclient.Pod
	// PodDetail is one pod with its lifecycle metadata.
	PodDetail = adminclient.PodDetail
	// PodList is a page of pods with the fleet's total.
	PodList = adminclient.PodList
	// RestartResult is the answer to a restart RunPod accepted.
	RestartResult = adminclient.RestartResult
	// Server is one inference server with its health.
	Server = adminclient.Server
	// ServerProvider is a server's provider: vllm, sglang or speaches.
	ServerProvider = adminclient.ServerProvider
	// ServerList is a page of servers with the pool's total.
	ServerList = adminclient.ServerList
	// AffinityMetrics holds session affinity counts per provider.
	AffinityMetrics = adminclient.AffinityMetrics
	// ProviderAffinity is one provider's affinity counts and TTL.
	ProviderAffinity = adminclient.ProviderAffinity
	// ClearAffinityResult says how many affinity entries a clear removed.
	ClearAffinityResult = adminclient.ClearAffinityResult
	// Registry is a page of the backend URLs serving a model.
	Registry = adminclient.Registry
	// RefreshResult is the answer to a registry refresh.
	RefreshResult = adminclient.RefreshResult
	// PodDemand is the demand telemetry of one backend URL.
	PodDemand = adminclient.PodDemand
	// ModelDemand is one model's share of a pod's demand.
	ModelDemand = adminclient.ModelDemand
)

// paging turns plain page and limit values into the generated parameters:
// 0 leaves a value out, so the server's default applies (page 1, limit 10).
// Other values are sent as given; one out of range is the server's 400.
func paging(page, limit int) (p, l *int64) {
	if page != 0 {
		v := int64(page)
		p = &v
	}
	if limit != 0 {
		v := int64(limit)
		l = &v
	}
	return p, l
}

// ListPods returns one page of the fleet's pods, ordered by name then id.
// page starts at 1; limit is 1 to 100; 0 takes the server's default.
func (c *Client) ListPods(ctx context.Context, page, limit int) (*PodList, error) {
	p, l := paging(page, limit)
	return read[PodList](ctx, c, "ListPods", func(ctx context.Context, e ...adminclient.RequestEditorFn) (*http.Response, error) {
		return c.api.ListPods(ctx, &adminclient.ListPodsParams{Page: p, Limit: l}, e...)
	})
}

// GetPod returns one pod. An unknown pod is an error for which IsNotFound
// is true; an id that is not 1 to 64 letters and digits is a 422.
func (c *Client) GetPod(ctx context.Context, id string) (*PodDetail, error) {
	return read[PodDetail](ctx, c, "GetPod", func(ctx context.Context, e ...adminclient.RequestEditorFn) (*http.Response, error) {
		return c.api.GetPod(ctx, id, e...)
	})
}

// RestartPod stops a pod and resumes it. It is sent once, never retried. A
// RunPod failure is a 502 *APIError whose FailedAt names the phase.
func (c *Client) RestartPod(ctx context.Context, id string) (*RestartResult, error) {
	return write[RestartResult](ctx, c, "RestartPod", func(ctx context.Context, e ...adminclient.RequestEditorFn) (*http.Response, error) {
		return c.api.RestartPod(ctx, id, e...)
	})
}

// ListServers returns one page of the inference servers of every provider
// with their health. page and limit are as for ListPods.
func (c *Client) ListServers(ctx context.Context, page, limit int) (*ServerList, error) {
	p, l := paging(page, limit)
	return read[ServerList](ctx, c, "ListServers", func(ctx context.Context, e ...adminclient.RequestEditorFn) (*http.Response, error) {
		return c.api.ListServers(ctx, &adminclient.ListServersParams{Page: p, Limit: l}, e...)
	})
}

// GetAffinityMetrics returns the session affinity counts of every provider.
func (c *Client) GetAffinityMetrics(ctx context.Context) (*AffinityMetrics, error) {
	return read[AffinityMetrics](ctx, c, "GetAffinityMetrics", func(ctx context.Context, e ...adminclient.RequestEditorFn) (*http.Response, error) {
		return c.api.GetAffinityMetrics(ctx, e...)
	})
}

// ClearAffinity removes a user's session affinity, for one model or, with
// modelID "", for every model. It is sent once, never retried.
func (c *Client) ClearAffinity(ctx context.Context, userID, modelID string) (*ClearAffinityResult, error) {
	body := adminclient.ClearAffinityRequest{UserId: userID}
	if modelID != "" {
		body.ModelId = &modelID
	}
	return write[ClearAffinityResult](ctx, c, "ClearAffinity", func(ctx context.Context, e ...adminclient.RequestEditorFn) (*http.Response, error) {
		return c.api.ClearAffinity(ctx, body, e...)
	})
}

// GetRegistry returns one page of the backend URLs serving a model, in
// lexicographic order. page and limit are as for ListPods.
func (c *Client) GetRegistry(ctx context.Context, modelID string, page, limit int) (*Registry, error) {
	p, l := paging(page, limit)
	return read[Registry](ctx, c, "GetRegistry", func(ctx context.Context, e ...adminclient.RequestEditorFn) (*http.Response, error) {
		return c.api.GetRegistry(ctx, modelID, &adminclient.GetRegistryParams{Page: p, Limit: l}, e...)
	})
}

// RefreshRegistry asks every replica and router to rebuild its routing
// tables. It is sent once, never retried.
func (c *Client) RefreshRegistry(ctx context.Context) (*RefreshResult, error) {
	return write[RefreshResult](ctx, c, "RefreshRegistry", func(ctx context.Context, e ...adminclient.RequestEditorFn) (*http.Response, error) {
		return c.api.RefreshRegistry(ctx, e...)
	})
}

// GetPodDemand returns the demand telemetry of a backend URL (an absolute
// http or https URL; the SDK encodes it into the path).
func (c *Client) GetPodDemand(ctx context.Context, podURL string) (*PodDemand, error) {
	return read[PodDemand](ctx, c, "GetPodDemand", func(ctx context.Context, e ...adminclient.RequestEditorFn) (*http.Response, error) {
		return c.api.GetPodDemand(ctx, podURL, e...)
	})
}
