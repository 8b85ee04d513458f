package contract

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/go-cmp/cmp"

	"github.com/threatwinds/aiadmin/openapi"
)

func loadSpec(t *testing.T, extra string) (*openapi3.T, []*operation) {
	t.Helper()
	doc := string(openapi.AdminYAML())
	if extra != "" {
		doc = strings.Replace(doc, "\npaths:\n", "\npaths:\n"+extra, 1)
	}
	spec, err := LoadSpec(t.Context(), []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return spec, operations(spec)
}

func find(t *testing.T, ops []*operation, id string) *operation {
	t.Helper()
	for _, o := range ops {
		if o.id == id {
			return o
		}
	}
	t.Fatalf("no operation %s", id)
	return nil
}

// labels lists the checks of an operation as the report would show them.
func labels(r *runner, checks []*check) []string {
	var out []string
	for _, c := range checks {
		out = append(out, r.requestLabel(c))
	}
	return out
}

// A new operation in the spec is checked without a change to the suite:
// its parameters and declared answers decide the checks.
func TestAnOperationAddedToTheSpecGetsChecks(t *testing.T) {
	_, ops := loadSpec(t, `  /api/ai/v1/admin/users/{userId}/sessions:
    get:
      operationId: ListUserSessions
      parameters:
        - {name: userId, in: path, required: true, schema: {type: string, maxLength: 64}}
        - $ref: '#/components/parameters/Page'
      responses:
        '200':
          description: Sessions.
          content:
            application/json:
              schema: {type: object, required: [sessions], properties: {sessions: {type: array, items: {type: string}}}}
        '404': {$ref: '#/components/responses/NotFound'}
        default: {$ref: '#/components/responses/OtherError'}
`)
	o := find(t, ops, "ListUserSessions")
	r := &runner{prefix: apiPrefix(ops)}
	if r.prefix != "/api/ai/v1/admin" {
		t.Fatalf("prefix %q", r.prefix)
	}
	got := labels(r, readChecks(o, map[string]string{"userId": "usr_1"}, true))
	want := []string{
		"GET /users/usr_1/sessions",
		"GET /users/usr_1/sessions?page=1&page=1 (given twice)",
		"GET /users/usr_1/sessions?page=abc (not an integer)",
		"GET /users/usr_1/sessions?page=0 (below the minimum)",
		"GET /users/usr_1/sessions?page=100000001 (above the maximum)",
		"GET /users/usr_1/sessions?page=100000000 (the maximum)",
		"GET /users/aaaaaaaaaaaaaaaa…(65 chars)/sessions (invalid userId)",
		"GET /users/contract0missing/sessions (unknown userId)",
		"GET /users/usr_1/sessions (no credentials)",
		"GET /users/usr_1/sessions (wrong token)",
		"GET /users/usr_1/sessions (wrong key pair)",
		"GET /users/usr_1/sessions (half a key pair)",
		"GET /users/usr_1/sessions (token and key pair)",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("checks (-want +got):\n%s", diff)
	}
}

func TestPathValuesComeFromTheParentListFirst(t *testing.T) {
	_, ops := loadSpec(t, "")
	r := &runner{harvested: map[string]map[string][]string{
		"/api/ai/v1/admin/audit":   {"id": {"audit1"}},
		"/api/ai/v1/admin/pods":    {"id": {"pod1", "pod2"}, "models": {"m1"}},
		"/api/ai/v1/admin/servers": {"url": {"http://s1/v1"}, "models": {"m2"}},
	}}
	for _, tt := range []struct {
		op   string
		want map[string]string
	}{
		{"GetPod", map[string]string{"id": "pod1"}},
		{"GetRegistry", map[string]string{"modelId": "m1"}},
		{"GetPodDemand", map[string]string{"podUrl": "http://s1/v1"}},
	} {
		got, discovered := r.values(find(t, ops, tt.op))
		if diff := cmp.Diff(tt.want, got); diff != "" || !discovered {
			t.Errorf("%s: discovered %v, values (-want +got):\n%s", tt.op, discovered, diff)
		}
	}
}

func TestHarvestCollectsStringsAndStringArraysByKey(t *testing.T) {
	r := &runner{harvested: map[string]map[string][]string{}}
	r.harvest("/pods", []byte(`{"pods":[{"id":"a","models":["m1","m2"],"healthy":null},{"id":"b","models":[]}],"total":2}`))
	want := map[string][]string{"id": {"a", "b"}, "models": {"m1", "m2"}}
	if diff := cmp.Diff(want, r.harvested["/pods"]); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestWriteBodiesAreBuiltFromTheSchema(t *testing.T) {
	_, ops := loadSpec(t, "")
	checks := writeChecks(find(t, ops, "ClearAffinity"), nil, func() string { return "contract-x" }, http.StatusOK)
	if got := string(checks[0].body); got != `{"user_id":"contract-x"}` {
		t.Errorf("body %s", got)
	}
	var notes []string
	for _, c := range checks {
		notes = append(notes, c.note+c.creds.label())
	}
	if !slices.Equal(notes, []string{"", "no credentials", "unknown field", "text/plain body"}) {
		t.Errorf("write checks %q", notes)
	}
	if checks := writeChecks(find(t, ops, "RefreshRegistry"), nil, nil, http.StatusOK); len(checks) != 2 || checks[0].body != nil {
		t.Errorf("a write without a body: %d checks, body %q", len(checks), checks[0].body)
	}
}

// validateAnswer validates an answer to GET path against the spec.
func validateAnswer(t *testing.T, opID, path string, status int, header http.Header, body string, want ...int) string {
	t.Helper()
	spec, ops := loadSpec(t, "")
	o := find(t, ops, opID)
	req := httptest.NewRequest(o.method, path, nil)
	if header == nil {
		header = http.Header{}
	}
	header.Set("Content-Type", "application/json")
	return validate(spec, &check{op: o, want: want}, req, status, header, []byte(body))
}

func TestFailuresNameThePathAndWhatTheSpecExpected(t *testing.T) {
	errHeaders := func(id string) http.Header {
		h := http.Header{}
		h.Set("x-error", "pod not found")
		if id != "" {
			h.Set("x-error-id", id)
		}
		return h
	}
	pods := `{"pods":[{"id":"a","name":"n","desired_status":"RUNNING","kind":"k","models":[],"healthy":null,"inflight":"3",` +
		`"last_use_ms":0,"idle_seconds":0,"last_status_change":"","cost_per_hr":1,"data_center_id":"d","location":"l","gpu_type_id":"g"}],"page":1,"limit":10,"total":1}`
	for _, tt := range []struct {
		name, op, path string
		status         int
		header         http.Header
		body           string
		want           []int
		failure        string
	}{
		{"valid page", "ListServers", "/api/ai/v1/admin/servers", 200, nil, `{"servers":[],"page":1,"limit":10,"total":0}`, []int{200}, ""},
		{"a number as a string", "ListPods", "/api/ai/v1/admin/pods", 200, nil, pods, []int{200}, "$.pods[0].inflight: the spec expects integer, got a string"},
		{"a missing property", "ListServers", "/api/ai/v1/admin/servers", 200, nil, `{"servers":[],"page":1,"limit":10}`, nil, "$.total: missing; the spec requires it"},
		{"a value outside the enum", "RefreshRegistry", "/api/ai/v1/admin/registry/refresh", 200, nil, `{"status":"done"}`, nil, "$.status: the spec expects one of [triggered]"},
		{"a wrong status", "GetPod", "/api/ai/v1/admin/pods/a", 404, errHeaders("e1"), `{"error":"pod not found"}`, []int{200}, `status 404, want 200 (server: "pod not found")`},
		{"an undeclared success", "GetPod", "/api/ai/v1/admin/pods/a", 204, nil, ``, nil, "status 204 is not declared for GetPod"},
		{"no error id", "GetPod", "/api/ai/v1/admin/pods/a", 404, errHeaders(""), `{"error":"pod not found"}`, nil, "header x-error-id: missing; the spec requires it on every error answer"},
		{"headers and body disagree", "GetPod", "/api/ai/v1/admin/pods/a", 404, errHeaders("e1"), `{"error":"other"}`, nil, "header x-error: differs from $.error; the spec requires the same message"},
		{"error not a string", "GetPod", "/api/ai/v1/admin/pods/a", 404, errHeaders("e1"), `{"error":7}`, nil, "$.error: a number; the spec requires a string"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := validateAnswer(t, tt.op, tt.path, tt.status, tt.header, tt.body, tt.want...)
			if got != tt.failure {
				t.Errorf("got %q, want %q", got, tt.failure)
			}
		})
	}
}
