package aiadmin_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/threatwinds/aiadmin/clients/aiadmin/aiadmintest"
)

// demo is an aiadmin serving the living demo fleet; big is one over a
// RunPod stand-in with bigFleet pods and an empty store.
var demo, big *aiadmintest.Server

// bigFleet is the size of the fleet the iterator tests walk.
const bigFleet = 1000

// TestMain builds the server and the RunPod stand-in from this module and
// runs them for every test and example. The examples read the server's
// address and credentials from the environment, as the README's program
// does, so TestMain sets AIADMIN_URL and the credential variables.
func TestMain(m *testing.M) {
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "aiadmin tests:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func run(m *testing.M) (int, error) {
	dir, err := os.MkdirTemp("", "aiadmin-sdk-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	serverBin, err := aiadmintest.Build(dir, "./server/cmd/aiadmin")
	if err != nil {
		return 0, err
	}
	standinBin, err := aiadmintest.Build(dir, "./tools/runpod-standin")
	if err != nil {
		return 0, err
	}
	creds := aiadmintest.NewCredentials()
	if demo, err = aiadmintest.StartServer(serverBin, dir, creds); err != nil {
		return 0, err
	}
	defer demo.Stop()
	standin, err := aiadmintest.StartStandin(standinBin, bigFleet, "big")
	if err != nil {
		return 0, err
	}
	defer standin.Stop()
	big, err = aiadmintest.StartServer(serverBin, dir, creds,
		"--demo=false", "--runpod-url", standin.URL, "--runpod-api-key", standin.APIKey, "--pod-prefix", "big")
	if err != nil {
		return 0, err
	}
	defer big.Stop()
	for k, v := range map[string]string{
		"AIADMIN_URL":        demo.URL,
		"AIADMIN_TOKEN":      creds.AdminToken,
		"AIADMIN_API_KEY":    creds.APIKey,
		"AIADMIN_API_SECRET": creds.APISecret,
	} {
		if err := os.Setenv(k, v); err != nil {
			return 0, err
		}
	}
	return m.Run(), nil
}
