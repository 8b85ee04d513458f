package standin_test

import (
	"bytes"
	"net/http"
	"testing"
	"time"

	"github.com/threatwinds/aiadmin/clients/runpod/standin"
)

// TestListenerCloseEndsDelayedAnswers shows the stand-in's own listener shuts
// down completely: an answer held back by a long Delay fault ends at Close
// (its request fails rather than waiting out the delay), and the address no
// longer accepts requests.
func TestListenerCloseEndsDelayedAnswers(t *testing.T) {
	srv := standin.NewServer(key, onePod)
	l, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if status, _ := post(t, l.URL(), "Bearer "+key, `query { myself { pods { id } } }`, nil); status != http.StatusOK {
		t.Fatalf("before the fault: status %d", status)
	}

	srv.FaultNext(standin.OpMyself, 1, standin.Fault{Delay: time.Hour})
	// status is the delayed request's answer, 0 when it failed outright.
	status := make(chan int, 1)
	req, err := http.NewRequest(http.MethodPost, l.URL(), bytes.NewBufferString(`{"query":"query { myself { pods { id } } }"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			status <- 0
			return
		}
		resp.Body.Close()
		status <- resp.StatusCode
	}()
	// The request has reached the operation once the call is counted.
	for srv.Calls(standin.OpMyself) < 2 {
		time.Sleep(5 * time.Millisecond)
	}
	l.Close()
	select {
	case code := <-status:
		if code == http.StatusOK {
			t.Fatal("the delayed answer was served as 200 after Close")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the delayed request still waits after Close")
	}
	if resp, err := http.Post(l.URL(), "application/json", bytes.NewBufferString(`{}`)); err == nil {
		resp.Body.Close()
		t.Fatalf("the address still answers after Close: %d", resp.StatusCode)
	}
}
