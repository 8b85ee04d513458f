package main

import (
	"strings"
	"testing"
)

func TestFailFlag(t *testing.T) {
	for _, tt := range []struct {
		value   string
		op      string
		status  int
		wantErr string
	}{
		{value: "podStop=500", op: "podStop", status: 500},
		{value: "podResume=503", op: "podResume", status: 503},
		{value: "podStop", wantErr: "want OP=STATUS"},
		{value: "podDelete=500", wantErr: `unknown operation "podDelete"`},
		{value: "podStop=200", wantErr: "from 400 to 599"},
		{value: "podStop=abc", wantErr: "from 400 to 599"},
	} {
		fail := map[string]int{}
		err := parseFail(fail, tt.value)
		switch {
		case tt.wantErr == "" && (err != nil || fail[tt.op] != tt.status):
			t.Errorf("-fail %s: %v, %v; want %s answering %d", tt.value, err, fail, tt.op, tt.status)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("-fail %s: error %v, want one saying %q", tt.value, err, tt.wantErr)
		}
	}
}
