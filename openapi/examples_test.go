package openapi_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// example is one example value of the spec with the schema it must satisfy.
type example struct {
	where    string // operation, place and example name, for messages
	schema   *openapi3.SchemaRef
	value    any
	response bool // validated as a response (readOnly allowed) or a request
}

// mediaExamples lists the `example` and each of the `examples` of a media
// type, under the name where.
func mediaExamples(where string, media *openapi3.MediaType, response bool) []example {
	var out []example
	if media.Example != nil {
		out = append(out, example{where: where + " example", schema: media.Schema, value: media.Example, response: response})
	}
	for _, name := range slices.Sorted(maps.Keys(media.Examples)) {
		ref := media.Examples[name]
		var v any
		if ref != nil && ref.Value != nil {
			v = ref.Value.Value
		}
		out = append(out, example{where: where + " examples/" + name, schema: media.Schema, value: v, response: response})
	}
	return out
}

// collectExamples walks every operation's parameters, request body and
// responses (their headers too), and lists every example they give.
func collectExamples(doc *openapi3.T) []example {
	var out []example
	for _, o := range operations(doc) {
		for _, ref := range append(slices.Clone(o.item.Parameters), o.op.Parameters...) {
			p := ref.Value
			where := fmt.Sprintf("%s parameter %s", o.name, p.Name)
			if p.Example != nil {
				out = append(out, example{where: where + " example", schema: p.Schema, value: p.Example})
			}
			for _, name := range slices.Sorted(maps.Keys(p.Examples)) {
				out = append(out, example{where: where + " examples/" + name, schema: p.Schema, value: p.Examples[name].Value.Value})
			}
			for _, mt := range slices.Sorted(maps.Keys(p.Content)) {
				out = append(out, mediaExamples(where+" "+mt, p.Content[mt], false)...)
			}
		}
		if rb := o.op.RequestBody; rb != nil {
			for _, mt := range slices.Sorted(maps.Keys(rb.Value.Content)) {
				out = append(out, mediaExamples(o.name+" request body "+mt, rb.Value.Content[mt], false)...)
			}
		}
		responses := o.op.Responses.Map()
		for _, status := range slices.Sorted(maps.Keys(responses)) {
			headers := responses[status].Value.Headers
			for _, name := range slices.Sorted(maps.Keys(headers)) {
				if h := headers[name].Value; h.Example != nil {
					out = append(out, example{where: fmt.Sprintf("%s response %s header %s example", o.name, status, name), schema: h.Schema, value: h.Example, response: true})
				}
			}
			content := responses[status].Value.Content
			for _, mt := range slices.Sorted(maps.Keys(content)) {
				out = append(out, mediaExamples(fmt.Sprintf("%s response %s %s", o.name, status, mt), content[mt], true)...)
			}
		}
	}
	return out
}

// asJSON returns v as encoding/json decodes it (numbers as float64), the
// form kin-openapi's schema validation expects.
func asJSON(v any) (any, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out any
	err = json.Unmarshal(data, &out)
	return out, err
}

// undeclaredFields lists the object keys of v, at any depth, that schema
// does not declare. A schema without additionalProperties: false accepts
// them, so a misspelt field in an example would pass VisitJSON unnoticed.
// Composed schemas (allOf, anyOf, oneOf) are not followed; the spec has none.
func undeclaredFields(schema *openapi3.Schema, v any, at string) []string {
	if schema == nil || len(schema.AllOf)+len(schema.AnyOf)+len(schema.OneOf) > 0 {
		return nil
	}
	var out []string
	switch x := v.(type) {
	case map[string]any:
		extra := schema.AdditionalProperties.Schema != nil || (schema.AdditionalProperties.Has != nil && *schema.AdditionalProperties.Has)
		for _, k := range slices.Sorted(maps.Keys(x)) {
			prop, ok := schema.Properties[k]
			if !ok {
				if !extra {
					out = append(out, at+"/"+k)
				}
				continue
			}
			out = append(out, undeclaredFields(prop.Value, x[k], at+"/"+k)...)
		}
	case []any:
		if schema.Items != nil {
			for i, e := range x {
				out = append(out, undeclaredFields(schema.Items.Value, e, fmt.Sprintf("%s/%d", at, i))...)
			}
		}
	}
	return out
}

// checkExample reports why ex is not valid against its schema, or nil.
func checkExample(ex example) error {
	if ex.schema == nil || ex.schema.Value == nil {
		return fmt.Errorf("has no schema to check it against")
	}
	v, err := asJSON(ex.value)
	if err != nil {
		return fmt.Errorf("is not JSON: %w", err)
	}
	as := openapi3.VisitAsRequest()
	if ex.response {
		as = openapi3.VisitAsResponse()
	}
	if err := ex.schema.Value.VisitJSON(v, openapi3.MultiErrors(), as); err != nil {
		return fmt.Errorf("does not match its schema: %s", strings.Join(schemaReasons(err), "; "))
	}
	if extra := undeclaredFields(ex.schema.Value, v, ""); len(extra) > 0 {
		return fmt.Errorf("has fields its schema does not declare: %s", strings.Join(extra, ", "))
	}
	return nil
}

func TestEveryExampleMatchesItsSchema(t *testing.T) {
	doc := loadSpec(t)
	examples := collectExamples(doc)
	// The spec gives dozens; a walk that finds few has stopped looking.
	if len(examples) < 30 {
		t.Fatalf("found %d examples in the spec; the walk misses some", len(examples))
	}
	for _, ex := range examples {
		if err := checkExample(ex); err != nil {
			t.Errorf("%s: %v", ex.where, err)
		}
	}
}

func TestEverySuccessAnswerHasAnExample(t *testing.T) {
	doc := loadSpec(t)
	for _, o := range operations(doc) {
		success := 0
		for status, ref := range o.op.Responses.Map() {
			if !strings.HasPrefix(status, "2") {
				continue
			}
			success++
			if len(ref.Value.Content) == 0 {
				t.Errorf("%s response %s: no content to give an example of", o.name, status)
			}
			for mt, media := range ref.Value.Content {
				if media.Example == nil && len(media.Examples) == 0 {
					t.Errorf("%s response %s %s: no example", o.name, status, mt)
				}
			}
		}
		if success == 0 {
			t.Errorf("%s: no 2xx response", o.name)
		}
	}
}

// TestCheckExampleRefusesWrongExamples shows the check can fail: each
// example here breaks the schema of the pod detail in one way.
func TestCheckExampleRefusesWrongExamples(t *testing.T) {
	doc := loadSpec(t)
	detail := doc.Components.Schemas["PodDetail"]
	valid := map[string]any{
		"id": "abc123", "name": "aiapi-dev-vllm-qwen3-6-27b-fp8-1", "url": "https://abc123.proxy.runpod.net/v1", "draining": false,
		"desired_status": "RUNNING", "kind": "vllm-qwen3-6-27b-fp8", "models": []any{"threatwinds-qwen3-6-27b"},
		"healthy": nil, "inflight": 3, "last_use_ms": 1719000000000, "idle_seconds": 45,
		"last_started_at": "2026-06-25T08:00:00Z", "last_status_change": "2026-06-25T10:00:00Z",
		"cost_per_hr": 0.44, "data_center_id": "us-central1", "location": "Iowa", "gpu_type_id": "a100-80gb",
	}
	if err := checkExample(example{where: "valid", schema: detail, value: valid, response: true}); err != nil {
		t.Fatalf("a valid pod detail is refused: %v", err)
	}
	with := func(key string, v any) map[string]any {
		m := maps.Clone(valid)
		if v == nil {
			delete(m, key)
		} else {
			m[key] = v
		}
		return m
	}
	for name, v := range map[string]any{
		"without url":          with("url", nil),
		"relative url":         with("url", "abc123.proxy.runpod.net/v1"),
		"inflight as a string": with("inflight", "3"),
		"fractional inflight":  with("inflight", 2.5),
		"misspelt field":       with("gpu_typ_id", "a100-80gb"),
	} {
		if checkExample(example{where: name, schema: detail, value: v, response: true}) == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	list := doc.Components.Schemas["PodList"]
	bad := map[string]any{"pods": []any{with("urll", "https://x/v1")}, "page": 1, "limit": 10, "total": 1}
	if err := checkExample(example{where: "list", schema: list, value: bad, response: true}); err == nil || !strings.Contains(err.Error(), "/pods/0/urll") {
		t.Errorf("a misspelt field in a list item: got %v, want it named /pods/0/urll", err)
	}
}
