package httpapi

import "testing"

func TestRepeatsKey(t *testing.T) {
	cases := map[string]bool{
		`{"a":1,"b":2}`:                     false,
		`{"a":1,"a":2}`:                     true,
		`{"user_id":"x","USER_ID":"y"}`:     true,
		`{"a":{"k":1},"b":{"k":1}}`:         false,
		`[{"a":1},{"a":2}]`:                 false,
		`{"a":[{"k":1,"k":2}]}`:             true,
		`{"a":"b","b":"a"}`:                 false,
		`{"a":{"b":{"c":1}},"A":0}`:         true,
		`{"x":["a","a"],"y":["x"]}`:         false,
		`{"a":[],"b":{},"c":[{}],"d":null}`: false,
		`"a"`:                               false,
		`[1,2,[3,{"z":1,"Z":1}]]`:           true,
		`{"user_id":"a","uſer_id":"x"}`:     true, // ſ folds to s in encoding/json
		`{"k":1,"K":2}`:                     true, // the Kelvin sign folds to k
		`{"é":1,"É":2}`:                     true,
		`{"ß":1,"ss":2}`:                    false,
	}
	for doc, want := range cases {
		if got := repeatsKey([]byte(doc)); got != want {
			t.Errorf("repeatsKey(%s) = %v, want %v", doc, got, want)
		}
	}
}
